// dropin.test.mjs - issue 9 on a real Janus: an existing janus-plugin-sfu deployment swaps the binary and keeps
// working. Reticulum-shaped tokens (Mozilla Hubs' issuer) with issuer clock skew go through join, subscriber join,
// kick and refresh; a kick bans exactly the person kicked; the old INI janus.plugin.sfu.cfg keeps the old plugin's
// behaviour (no ejection at expiry, no kick bans); and every configuration mistake that used to run the plugin
// open now leaves it serving no joins, with the error in the log. Each scenario runs its own Janus.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startJanus, pluginBuilt } from './lib/janus.mjs';
import { adminClient } from './lib/admin.mjs';
import { connect } from './lib/client.mjs';
import { openUser, publisher, subscriber, assertError, assertOk, uid, sleep, waitEvent } from './lib/sfu.mjs';
import { makeKeys, mint, reticulumToken } from './lib/jwt.mjs';

const skip = !pluginBuilt() && 'plugin not built';
let keys;
const cleanups = [];

before(() => { keys = makeKeys(); });
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  if (keys) rmSync(keys.dir, { recursive: true, force: true });
});

async function janusWith(opts) {
  const j = await startJanus(opts);
  cleanups.push(() => j.stop());
  return j;
}

async function pub(janus, room, id, token) {
  const p = await publisher(janus, room, id, { token });
  cleanups.push(() => p.user.close());
  return p;
}

const participants = async (admin, room) => {
  const r = await admin.messagePlugin({ request: 'list_participants', room_id: room });
  return r.response.participants.map((p) => p.user_id).sort();
};

// ---- Real issuers ------------------------------------------------------------------------------------------------

test('Reticulum-shaped tokens with 20 s of issuer clock skew work for join, subscriber join, refresh and kick', { skip }, async () => {
  const janus = await janusWith({ pluginConfig: { auth_key: join(keys.dir, 'public.der') } });
  const admin = adminClient(janus);
  const hub = uid('hub');
  // The issuer's clock 20 s ahead of Janus's: iat and nbf are 20 s in Janus's future.
  const ahead = await pub(janus, hub, 'ahead', reticulumToken(keys, hub, { skew: 20 }));
  assertOk(ahead.join, 'join with the issuer 20 s ahead');
  const behind = await pub(janus, hub, 'behind', reticulumToken(keys, hub, { skew: -20 }));
  assertOk(behind.join, 'join with the issuer 20 s behind');
  // naf's subscriber join re-sends the (latest) token.
  const sub = await subscriber(ahead.user, hub, 'ahead', 'behind', { token: reticulumToken(keys, hub, { skew: 20 }) });
  assertOk(sub.join, 'subscriber join');
  assert.equal(sub.join.jsep?.type, 'offer');
  // In-band refresh with a newer Reticulum token.
  const r = await ahead.handle.send({ kind: 'refresh', token: reticulumToken(keys, hub, { skew: 20 }) });
  assert.equal(typeof assertOk(r, 'refresh').expires_at, 'number');
  // An owner's kick with a Reticulum owner token (kick_users, an account sub).
  const owner = await pub(janus, hub, 'owner', reticulumToken(keys, hub, { accountId: '42', skew: 20, perms: { kick_users: true } }));
  assertOk(owner.join, 'owner join');
  const kick = await owner.handle.send({ kind: 'kick', room_id: hub, user_id: 'behind',
    token: reticulumToken(keys, hub, { accountId: '42', skew: -20, perms: { kick_users: true } }) });
  assert.equal(assertOk(kick, 'kick').kicked, 1);
  await waitEvent(behind.handle, 'ejected', (d) => d.reason === 'kicked', 3000);
  assert.deepEqual(await participants(admin, hub), ['ahead', 'owner']);
});

test('a token whose nbf is ten minutes ahead is refused (token_not_yet_valid)', { skip }, async () => {
  const janus = await janusWith({ pluginConfig: { auth_key: join(keys.dir, 'public.der') } });
  const hub = uid('hub');
  const early = await pub(janus, hub, 'early', reticulumToken(keys, hub, { skew: 600 }));
  assertError(early.join, 'Rejecting join with invalid token!', { reason: 'token_not_yet_valid' });
});

// ---- A ban hits exactly the person kicked ------------------------------------------------------------------------

test('.jcfg: a kick bans the kicked anonymous visitor, never the others who share its sub', { skip }, async () => {
  const janus = await janusWith({ pluginConfig: { auth_key: join(keys.dir, 'public.der') } });
  const admin = adminClient(janus);
  const hub = uid('hub');
  const anon = (skew = 0) => reticulumToken(keys, hub, { skew });
  const owner = await pub(janus, hub, 'owner', reticulumToken(keys, hub, { accountId: '7', perms: { kick_users: true } }));
  const guest1 = await pub(janus, hub, 'guest1', anon());
  const guest2 = await pub(janus, hub, 'guest2', anon());
  for (const p of [owner, guest1, guest2]) assertOk(p.join, 'join');
  const kick = await owner.handle.send({ kind: 'kick', room_id: hub, user_id: 'guest1',
    token: reticulumToken(keys, hub, { accountId: '7', perms: { kick_users: true } }) });
  assert.equal(assertOk(kick, 'kick').kicked, 1);
  await waitEvent(guest1.handle, 'ejected', () => true, 3000);
  // The other anonymous visitor (same sub "_<hub>") is untouched, and a new one still gets in.
  assertOk(await guest2.handle.send({ kind: 'data', body: 'still here' }), 'guest2 still in the room');
  const guest3 = await pub(janus, hub, 'guest3', anon());
  assertOk(guest3.join, 'another anonymous visitor joins after the kick');
  // The kicked one does not.
  const back = await pub(janus, hub, 'guest1', anon());
  assertError(back.join, 'Rejecting join of a kicked user!', { reason: 'banned' });
  const bans = (await admin.messagePlugin({ request: 'list_bans', room_id: hub })).response.bans;
  assert.deepEqual(bans.map((b) => [b.identity, b.user_id]), [['user_id', 'guest1']]);
  // A kick of someone who is not in the room records no ban.
  const ghost = await owner.handle.send({ kind: 'kick', room_id: hub, user_id: 'nobody',
    token: reticulumToken(keys, hub, { accountId: '7', perms: { kick_users: true } }) });
  assert.equal(assertOk(ghost, 'kick of an absent user').kicked, 0);
  assert.equal((await admin.messagePlugin({ request: 'list_bans', room_id: hub })).response.bans.length, 1);
  assertOk((await pub(janus, hub, 'nobody', anon())).join, 'the absent user was not banned');
});

test('sub_identifies_user = true: the kicked person cannot come back under another user_id', { skip }, async () => {
  const janus = await janusWith({ pluginConfig: { auth_key: join(keys.dir, 'public.der'), sub_identifies_user: true } });
  const hub = uid('hub');
  const owner = await pub(janus, hub, 'owner', reticulumToken(keys, hub, { accountId: '1', perms: { kick_users: true } }));
  const alice = await pub(janus, hub, 'alice-tab1', reticulumToken(keys, hub, { accountId: '2' }));
  const bob = await pub(janus, hub, 'bob', reticulumToken(keys, hub, { accountId: '3' }));
  for (const p of [owner, alice, bob]) assertOk(p.join, 'join');
  assertOk(await owner.handle.send({ kind: 'kick', room_id: hub, user_id: 'alice-tab1',
    token: reticulumToken(keys, hub, { accountId: '1', perms: { kick_users: true } }) }), 'kick');
  const disguised = await pub(janus, hub, 'alice-tab2', reticulumToken(keys, hub, { accountId: '2' }));
  assertError(disguised.join, 'Rejecting join of a kicked user!', { reason: 'banned' });
  const carol = await pub(janus, hub, 'carol', reticulumToken(keys, hub, { accountId: '4' }));
  assertOk(carol.join, 'someone else still joins');
});

// ---- The old INI configuration keeps the old behaviour -------------------------------------------------------------

test('legacy .cfg: the policy line says so; a 3 s token outlives its exp; a kicked user may rejoin at once', { skip }, async () => {
  // The only new key here makes the test short: without it the (default) 60 s leeway would be waited for too.
  const janus = await janusWith({ legacyCfg: `[general]\nauth_key = ${join(keys.dir, 'public.der')}\nmax_room_size = 30\nclock_leeway_s = 0\n` });
  const admin = adminClient(janus);
  const hub = uid('hub');
  const owner = await pub(janus, hub, 'owner', reticulumToken(keys, hub, { accountId: '1', perms: { kick_users: true } }));
  const short = await pub(janus, hub, 'short', reticulumToken(keys, hub, { ttl: 3 }));
  const victim = await pub(janus, hub, 'victim', reticulumToken(keys, hub));
  for (const p of [owner, short, victim]) assertOk(p.join, 'join');
  await sleep(5000);
  assert.deepEqual(await participants(admin, hub), ['owner', 'short', 'victim'], 'nobody ejected at expiry');
  assertOk(await short.handle.send({ kind: 'data', body: 'after exp' }), 'the expired user still sends');
  assert.equal((await waitEvent(short.handle, 'ejected', () => true, 500).catch(() => null)), null);
  const kick = await owner.handle.send({ kind: 'kick', room_id: hub, user_id: 'victim',
    token: reticulumToken(keys, hub, { accountId: '1', perms: { kick_users: true } }) });
  assert.equal(assertOk(kick, 'kick').kicked, 1);
  await waitEvent(victim.handle, 'ejected', () => true, 3000);
  const back = await pub(janus, hub, 'victim', reticulumToken(keys, hub));
  assertOk(back.join, 'the kicked user rejoins at once (no kick bans with the old config)');
  await janus.waitLog([/legacy \.cfg: old plugin defaults/, /expiry: keep/, /kick bans off/]);
});

test('legacy .cfg without new keys: the default leeway admits a 20 s skewed issuer; nothing else needed', { skip }, async () => {
  const janus = await janusWith({ legacyCfg: `[general]\nauth_key = "${join(keys.dir, 'public.der')}"\n` });
  const hub = uid('hub');
  assertOk((await pub(janus, hub, 'a', reticulumToken(keys, hub, { skew: 20 }))).join, 'join');
  await janus.waitLog(/clock leeway 60 s/);
});

// ---- Configuration mistakes never run the plugin open ---------------------------------------------------------------

/** The plugin did not load: attaching fails, Janus still runs, and the log names the problem. */
async function assertServesNoJoins(janus, ...needles) {
  assert.ok(janus.alive(), 'Janus keeps running');
  assert.ok(!(await janus.plugins()).includes('janus.plugin.sfu'), 'the plugin is not loaded');
  const conn = await connect(janus.wsUrl);
  try {
    const session = await conn.createSession();
    await assert.rejects(session.attach('janus.plugin.sfu'), 'attaching to janus.plugin.sfu fails');
  } finally {
    await conn.close();
  }
  await janus.waitLog(needles);
}

const key = () => join(keys.dir, 'public.der');
for (const [what, files, needles] of [
  ['a misspelt key (auth-key)', () => ({ 'janus.plugin.sfu.jcfg': `general: {\n\tauth-key = "${key()}"\n}\n` }),
    ["unknown setting 'auth-key'", "did you mean 'auth_key'?"]],
  ['a group named General', () => ({ 'janus.plugin.sfu.jcfg': `General: {\n\tauth_key = "${key()}"\n}\n` }),
    ["unknown group 'General'", "did you mean 'general'?"]],
  ['auth_key outside the general group', () => ({ 'janus.plugin.sfu.jcfg': `auth_key = "${key()}"\ngeneral: {\n}\n` }),
    ["'auth_key' is outside its group"]],
  ['a value of the wrong type', () => ({ 'janus.plugin.sfu.jcfg': 'general: {\n\tkick_ban_s = true\n}\n' }),
    ["wrong type for 'kick_ban_s'"]],
  ['a misspelt key in the legacy INI', () => ({ 'janus.plugin.sfu.cfg': `[general]\nauthkey = ${key()}\n` }),
    ["unknown setting 'authkey'", "did you mean 'auth_key'?"]],
  ['a legacy INI section named [General]', () => ({ 'janus.plugin.sfu.cfg': `[General]\nauth_key = ${key()}\n` }),
    ["unknown section 'General'"]],
  ['no configuration file at all', () => ({}), ['no configuration file', 'janus.plugin.sfu.jcfg']],
]) {
  test(`config mistake, ${what}: the plugin serves no joins and the log says why`, { skip }, async () => {
    const janus = await janusWith({ pluginConfig: null, files: files() });
    await assertServesNoJoins(janus, 'not starting', ...needles);
  });
}

test('open mode (a clean config without a key) is announced at start-up, in handle_info and in admin stats', { skip }, async () => {
  const janus = await janusWith({ pluginConfig: { max_room_size: 30 } });
  const admin = adminClient(janus);
  await janus.waitLog(/auth OFF/);
  const user = await openUser(janus);
  cleanups.push(() => user.close());
  const h = await user.attach();
  assertOk(await h.send({ kind: 'join', room_id: uid('r'), user_id: 'u', token: 'garbage' }), 'open mode: tokens ignored');
  const stats = (await admin.messagePlugin({ request: 'stats' })).response.stats;
  assert.equal(stats.auth, 'off');
  assert.match(stats.policy, /auth OFF/);
  const info = await admin.handleInfo(user.session.id, h.id);
  assert.equal(info.info.plugin_specific.auth, 'off');
});
