// tokens.test.mjs - token checks on every join and every subscribe, on a real Janus (issue #3):
// each verdict gets the right response and reason, room isolation holds for every message sequence,
// keys reload through the admin API, and the verdict reasons reach the log without the token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { startJanus, pluginBuilt } from './lib/janus.mjs';
import { adminClient } from './lib/admin.mjs';
import { openUser, uid, assertError, assertOk } from './lib/sfu.mjs';
import { offerJsep } from './lib/sdp.mjs';
import { makeKeys, joinToken, mint } from './lib/jwt.mjs';

const skip = !pluginBuilt() && 'plugin not built';
let keys;
let otherKeys;
let janus;
let admin;
const minted = [];
const keep = (t) => { minted.push(t); return t; };

before(async () => {
  if (skip) return;
  keys = makeKeys();
  otherKeys = makeKeys();
  janus = await startJanus({ pluginConfig: { auth_key: join(keys.dir, 'public.der'), clock_leeway_s: 0 } });
  admin = adminClient(janus);
});
after(async () => { await janus?.stop(); });

async function publisherJoin(room, userId, token) {
  const user = await openUser(janus);
  const handle = await user.attach();
  assertOk(await handle.send({}, offerJsep()), 'offer');
  const data = await handle.send({ kind: 'join', room_id: room, user_id: userId,
    subscribe: { notifications: true, data: true }, token });
  return { user, handle, data };
}

test('publisher joins: anonymous, invalid (expired, wrong key, tampered), forbidden, allowed', { skip }, async () => {
  const room = uid('room');
  const cases = [
    [null, 'Rejecting anonymous join!', 'missing_token'],
    [joinToken(keys, [room], {}, { ttl: -1 }), 'Rejecting join with invalid token!', 'token_expired'],
    [joinToken(otherKeys, [room]), 'Rejecting join with invalid token!', 'bad_signature'],
    [joinToken(keys, [room]).replace(/\.([^.]+)\./, (m, p) => `.${p.slice(0, -2)}AA.`), 'Rejecting join with invalid token!', null],
    ['not-a-jwt', 'Rejecting join with invalid token!', 'malformed_token'],
    [joinToken(keys, ['elsewhere']), 'Rejecting join without permission!', 'room_not_allowed'],
    [mint(keys, { kick_users: true }), 'Rejecting join without permission!', 'join_not_allowed'],
    [joinToken(keys, [room], { user_id: 'someone-else' }), 'Rejecting join without permission!', 'user_mismatch'],
  ];
  for (const [token, msg, reason] of cases) {
    if (token) keep(token);
    const p = await publisherJoin(room, 'alice', token);
    assertError(p.data, msg, reason ? { reason } : {});
    assert.equal(typeof p.data.error.reason, 'string');
    p.user.close();
  }
  const ok = await publisherJoin(room, 'alice', keep(joinToken(keys, [room], { user_id: 'alice' })));
  assertOk(ok.data, 'valid join');
  const anyRoom = await publisherJoin(room, 'bob', keep(joinToken(keys, null)));
  assertOk(anyRoom.data, 'room_ids absent = any room');
  ok.user.close();
  anyRoom.user.close();
});

test('subscriber joins are checked too, and only reach publishers of the joined room', { skip }, async () => {
  const roomA = uid('roomA');
  const roomB = uid('roomB');
  const pubB = await publisherJoin(roomB, 'bpub', joinToken(keys, [roomB]));
  assertOk(pubB.data, 'publisher in B');
  const eve = await openUser(janus);
  const tokenA = keep(joinToken(keys, [roomA]));
  const eveA = await publisherJoin(roomA, 'eve', tokenA);
  assertOk(eveA.data, 'eve in A');

  // Every way eve, holding a token for A only, could try to receive bpub's media in B:
  const tries = [];
  let h = await eve.attach(); // 1. subscriber join into B with A's token
  tries.push(['join B with token A', await h.send({ kind: 'join', room_id: roomB, user_id: 'eve', subscribe: { media: 'bpub' }, token: tokenA }),
    'Rejecting join without permission!']);
  h = await eve.attach(); // 2. subscriber join into A, naming B's publisher
  tries.push(['join A, media from B', await h.send({ kind: 'join', room_id: roomA, user_id: 'eve', subscribe: { media: 'bpub' }, token: tokenA }),
    "Can't subscribe to a nonexistent publisher."]);
  h = await eve.attach(); // 3. subscribe message without joining: only rooms the token allows are searched,
  // so a token for A cannot even learn that bpub publishes in B (issue 10).
  tries.push(['subscribe, not joined', await h.send({ kind: 'subscribe', what: { media: 'bpub' }, token: tokenA }),
    "Can't subscribe to a nonexistent publisher."]);
  h = await eve.attach(); // 4. subscribe without any token
  tries.push(['subscribe, no token', await h.send({ kind: 'subscribe', what: { media: 'bpub' } }),
    'Rejecting anonymous subscription!']);
  h = await eve.attach(); // 5. join A (no media), then subscribe to B's publisher
  assertOk(await h.send({ kind: 'join', room_id: roomA, user_id: 'eve', token: tokenA }), 'join A');
  tries.push(['joined A, subscribe B', await h.send({ kind: 'subscribe', what: { media: 'bpub' }, token: tokenA }),
    'Cannot subscribe to a publisher not in a room.']);
  h = await eve.attach(); // 6. a forged token claiming B
  tries.push(['forged token', await h.send({ kind: 'subscribe', what: { media: 'bpub' }, token: joinToken(otherKeys, [roomB]) }),
    'Rejecting subscription with invalid token!']);
  for (const [what, data, msg] of tries) {
    assert.equal(data.success, false, `${what} must fail: ${JSON.stringify(data)}`);
    assert.equal(data.error.msg, msg, what);
    assert.equal(data.jsep, undefined, `${what} must not carry an offer`);
  }
  // bpub has no subscriber at all.
  const parts = await admin.messagePlugin({ request: 'list_participants', room_id: roomB });
  const bpub = parts.response.participants.find((p) => p.user_id === 'bpub');
  assert.deepEqual(bpub.handles.map((x) => x.role), ['publisher']);
  const stats = await admin.messagePlugin({ request: 'stats' });
  assert.ok(stats.response.stats.authorization.rejections_by_reason.room_not_allowed >= 1);

  // With a token for B, the same subscribe works and carries the offer.
  h = await eve.attach();
  const okSub = await h.send({ kind: 'subscribe', what: { media: 'bpub' }, token: keep(joinToken(keys, [roomB])) });
  assertOk(okSub, 'subscribe with a token for B');
  assert.equal(okSub.jsep?.type, 'offer');
  const okJoin = await (await eve.attach()).send({ kind: 'join', room_id: roomB, user_id: 'eve2',
    subscribe: { media: 'bpub' }, token: joinToken(keys, [roomB]) });
  assertOk(okJoin, 'subscriber join into B');
  assert.equal(okJoin.jsep?.type, 'offer');
  for (const u of [pubB.user, eve, eveA.user]) u.close();
});

test('keys reload through the admin API without dropping anyone; the log names reasons, never tokens', { skip }, async () => {
  const room = uid('room');
  const stay = await publisherJoin(room, 'stay', keep(joinToken(keys, [room])));
  assertOk(stay.data, 'join with the old key');
  // Rotate: write the other key where auth_key points, then reload.
  writeFileSync(join(keys.dir, 'public.der'), otherKeys.pkcs1Der);
  const r = await admin.messagePlugin({ request: 'reload_keys' });
  assert.equal(r.response.success, true, JSON.stringify(r));
  const old = await publisherJoin(room, 'late', keep(joinToken(keys, [room])));
  assertError(old.data, 'Rejecting join with invalid token!', { reason: 'bad_signature' });
  const fresh = await publisherJoin(room, 'late2', keep(joinToken(otherKeys, [room])));
  assertOk(fresh.data, 'join with the new key');
  const parts = await admin.messagePlugin({ request: 'list_participants', room_id: room });
  assert.deepEqual(parts.response.participants.map((p) => p.user_id).sort(), ['late2', 'stay']);
  // A broken key file is refused and the current keys stay.
  writeFileSync(join(keys.dir, 'public.der'), 'garbage');
  const bad = await admin.messagePlugin({ request: 'reload_keys' });
  assert.equal(bad.response.success, false);
  const still = await publisherJoin(room, 'late3', keep(joinToken(otherKeys, [room])));
  assertOk(still.data, 'old keys kept after a failed reload');
  writeFileSync(join(keys.dir, 'public.der'), keys.pkcs1Der);
  for (const u of [stay, old, fresh, still]) u.user.close();

  const log = await janus.waitLog(/room_not_allowed/);
  assert.match(log, /bad_signature/);
  assert.match(log, /room_not_allowed/);
  for (const t of minted) {
    assert.ok(!log.includes(t.split('.')[2]), 'token signature in the log');
    assert.ok(!log.includes(t.split('.')[1]), 'token payload in the log');
  }
});

test('a configured key that cannot be read stops the plugin; no key runs open with a loud warning', { skip }, async () => {
  const broken = await startJanus({ pluginConfig: { auth_key: '/nonexistent/key.der' } });
  try {
    assert.ok(!(await broken.plugins()).includes('janus.plugin.sfu'), 'plugin must not load');
    assert.match(await broken.waitLog(/auth_key|key/i), /auth_key|key/i);
  } finally {
    await broken.stop();
  }
  const open = await startJanus({ pluginConfig: {} });
  try {
    assert.ok((await open.plugins()).includes('janus.plugin.sfu'));
    assert.match(await open.waitLog(/AUTHENTICATION IS OFF/), /AUTHENTICATION IS OFF/);
  } finally {
    await open.stop();
  }
});
