// operator.test.mjs - what an operator of a Hubs/Reticulum-style deployment needs from the audit trail (Janus
// event handlers), on a real Janus. Written by an operator's review (branch review-operator2): the three tests
// below are expected to FAIL on a905977 (read from the code; not yet run: the machine was under IDLE-LOCK); each
// states what is missing.
//  - A refused join is the event an operator traces back to its source (a flood of bad tokens, a broken issuer):
//    Janus links plugin events to a session (and through the core's session events to a transport and address)
//    only when the plugin passes the handle. The "rejected" audit event is sent without it.
//  - "Who kicked?": with Reticulum tokens the kicker's user_id is naf's random client id, chosen by the client;
//    the verified identity is the kick token's sub ("<account_id>_<hub>"). The kick's audit events carry neither
//    the kicker's handle nor its token's sub.
//  - Admin revoke by "user_id" matches the token's user_id claim, which an old .cfg (and any config with
//    bind_user_id = false, MIGRATING's advice for tokens minted after naf-janus-adapter's JWT guide) ignores: the
//    revocation answers success, ejects nobody and refuses nothing, for as long as it lives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startJanus, pluginBuilt, freePort, clientHost } from './lib/janus.mjs';
import { adminClient } from './lib/admin.mjs';
import { publisher, uid, sleep, assertOk, waitEvent } from './lib/sfu.mjs';
import { makeKeys, mint, reticulumToken } from './lib/jwt.mjs';
import { slack } from './lib/slack.mjs';

const skip = !pluginBuilt() && 'plugin not built';
let keys;
let janus;
let collector;
const audit = [];
const closers = [];

async function startCollector() {
  const port = await freePort();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      try {
        const parsed = JSON.parse(body);
        for (const ev of Array.isArray(parsed) ? parsed : [parsed]) audit.push(ev);
      } catch { /* not JSON */ }
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(port, clientHost, r));
  return { server, backend: `http://${clientHost}:${port}/` };
}

/** The first plugin audit event matching \p pred, waited for. */
async function auditEvent(pred, what) {
  const deadline = Date.now() + slack(5000);
  for (;;) {
    const found = audit.find((e) => e?.event?.plugin === 'janus.plugin.sfu' && pred(e.event.data ?? {}));
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`no audit event: ${what}`);
    await sleep(100);
  }
}

before(async () => {
  if (skip) return;
  keys = makeKeys();
  collector = await startCollector();
  // The old INI config of a Hubs deployment (legacy .cfg: old plugin defaults).
  janus = await startJanus({
    pluginConfig: null,
    legacyCfg: `[general]\nauth_key = "${join(keys.dir, 'public.der')}"\nmax_room_size = 30\nmax_ccu = 1000\n`,
    eventHandler: { backend: collector.backend },
  });
});

after(async () => {
  for (const c of closers) await Promise.resolve(c()).catch(() => {});
  await janus?.stop();
  collector?.server.close();
});

test('a rejected join\'s audit event names the Janus session and handle that sent it', { skip }, async () => {
  const hub = uid('hub');
  const bad = mint(keys, { join_hub: true, exp: Math.floor(Date.now() / 1000) - 3600 });
  const p = await publisher(janus, hub, 'mallory', { token: bad });
  closers.push(() => p.user.close());
  assert.equal(p.join.success, false);
  const ev = await auditEvent((d) => d.event === 'rejected' && d.user_id === 'mallory', 'rejected join of mallory');
  assert.equal(ev.session_id, p.handle.session.id, `no session in the audit event: ${JSON.stringify(ev)}`);
  assert.equal(ev.handle_id, p.handle.id, `no handle in the audit event: ${JSON.stringify(ev)}`);
});

test('a kick\'s audit trail names the kicker by its verified token identity (sub), not only its naf client id', { skip }, async () => {
  const hub = uid('hub');
  const ownerToken = () => reticulumToken(keys, hub, { accountId: '4242', perms: { kick_users: true } });
  const owner = await publisher(janus, hub, 'c1a2b3', { token: ownerToken() });
  const guest = await publisher(janus, hub, 'd4e5f6', { token: reticulumToken(keys, hub) });
  closers.push(() => owner.user.close(), () => guest.user.close());
  assertOk(owner.join, 'owner join');
  assertOk(guest.join, 'guest join');
  assertOk(await owner.handle.send({ kind: 'kick', room_id: hub, user_id: 'd4e5f6', token: ownerToken() }), 'kick');
  await waitEvent(guest.handle, 'ejected', () => true, slack(3000));
  const ev = await auditEvent((d) => d.event === 'ejected' && d.user_id === 'd4e5f6', 'ejected d4e5f6');
  const raw = JSON.stringify(ev);
  assert.equal(ev.event.data.reason, 'kicked');
  assert.ok(raw.includes(`4242_${hub}`) || ev.session_id === owner.handle.session.id,
    `the kick's audit event does not say which account (sub 4242_${hub}) or session kicked: ${raw}`);
});

test('old .cfg: an admin revoke by user_id either cuts the holder off or is refused, never a silent no-op', { skip }, async () => {
  const hub = uid('hub');
  // naf-janus-adapter's JWT guide: user_id is the app's own user id (here 42), the naf client id is random.
  const token = () => mint(keys, { join_hub: true, user_id: '42' });
  const alice = await publisher(janus, hub, 'a1b2c3', { token: token() });
  closers.push(() => alice.user.close());
  assertOk(alice.join, 'join');
  const r = (await adminClient(janus).messagePlugin({ request: 'revoke', user_id: '42' })).response;
  if (r.success === false) return; // refused, saying why: fine
  assert.equal(r.ejected, 1, `revoke user_id 42 answered ${JSON.stringify(r)} and ejected nobody`);
  const again = await publisher(janus, hub, 'a1b2c3-again', { token: token() });
  closers.push(() => again.user.close());
  assert.equal(again.join.success, false, 'a revoked user_id joined again');
});
