// plugin-config.test.mjs - max_room_size / max_ccu refusals, the legacy INI janus.plugin.sfu.cfg, and invalid values
// that keep the plugin from loading (reference §4.1 step 4, §8.3, §9; conf/janus.plugin.sfu.jcfg.sample).
// Each case runs its own Janus.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJanus } from './lib/janus.mjs';
import { connect } from './lib/client.mjs';
import { openUser, publisher, subscriber, assertError, assertOk, uid } from './lib/sfu.mjs';

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function janusWith(opts) {
  const j = await startJanus(opts);
  cleanups.push(() => j.stop());
  return j;
}

async function pub(janus, room, id) {
  const p = await publisher(janus, room, id);
  cleanups.push(() => p.user.close());
  return p;
}

test('max_room_size: the publisher after the limit gets Room is full.', async () => {
  const janus = await janusWith({ pluginConfig: { max_room_size: 2 } });
  const room = uid('room');
  assertOk((await pub(janus, room, 'a')).join);
  assertOk((await pub(janus, room, 'b')).join);
  assertError((await pub(janus, room, 'c')).join, 'Room is full.');
  // Subscriber joins are not counted; other rooms are not affected.
  const u = await openUser(janus);
  cleanups.push(() => u.close());
  assertOk((await subscriber(u, room, 'watcher', 'a')).join, 'subscriber join into a full room');
  assertOk((await pub(janus, uid('room'), 'c')).join, 'another room');
});

test('max_room_size: leaving frees a place', async () => {
  const janus = await janusWith({ pluginConfig: { max_room_size: 1 } });
  const room = uid('room');
  const a = await pub(janus, room, 'a');
  assertOk(a.join);
  assertError((await pub(janus, room, 'b')).join, 'Room is full.');
  await a.handle.detach();
  // The core acks the detach at once and tells the plugin later (destroy_session runs on the handle's loop):
  // its "detached" event says the plugin has let the handle go.
  await a.handle.events.waitFor((m) => m.janus === 'detached', 10000);
  assertOk((await pub(janus, room, 'c')).join, 'join after the only publisher left');
});

test('max_ccu: the publisher after the server-wide limit gets Server is full.', async () => {
  const janus = await janusWith({ pluginConfig: { max_ccu: 2 } });
  assertOk((await pub(janus, uid('room'), 'a')).join);
  assertOk((await pub(janus, uid('room'), 'b')).join);
  assertError((await pub(janus, uid('room'), 'c')).join, 'Server is full.');
  const u = await openUser(janus);
  cleanups.push(() => u.close());
  const h = await u.attach();
  assertOk(await h.send({ kind: 'join', room_id: uid('room'), user_id: 'sub' }), 'subscriber joins are not counted');
});

test('0 means unlimited', async () => {
  const janus = await janusWith({ pluginConfig: { max_room_size: 0, max_ccu: 0 } });
  const room = uid('room');
  for (let i = 0; i < 12; i++) assertOk((await pub(janus, room, `u${i}`)).join);
});

test('the legacy INI janus.plugin.sfu.cfg is honoured when there is no .jcfg', async () => {
  const janus = await janusWith({
    legacyCfg: '# old plugin config\n[general]\n; comment\nmax_room_size = 1 ; inline comment\nmessage_threads = 2\n',
  });
  assert.ok((await janus.plugins()).includes('janus.plugin.sfu'), janus.logText().slice(-3000));
  const room = uid('room');
  assertOk((await pub(janus, room, 'a')).join);
  assertError((await pub(janus, room, 'b')).join, 'Room is full.');
});

test('the legacy INI with quoted values', async () => {
  const janus = await janusWith({ legacyCfg: '[general]\nmax_ccu = "1"\n' });
  assertOk((await pub(janus, uid('room'), 'a')).join);
  assertError((await pub(janus, uid('room'), 'b')).join, 'Server is full.');
});

async function assertNotLoaded(janus, key) {
  const conn = await connect(janus.wsUrl);
  try {
    const s = await conn.createSession();
    await assert.rejects(s.attach('janus.plugin.sfu'), (e) => e.janus?.error?.code === 460,
      'attach to janus.plugin.sfu must fail');
  } finally {
    await conn.close();
  }
  assert.ok(janus.alive(), 'Janus itself keeps running');
  assert.ok(!(await janus.plugins()).includes('janus.plugin.sfu'));
  // One log line names both the plugin and the key (written by Janus's log thread: wait for it).
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await janus.waitLog(new RegExp(`^.*(sfu.*${escaped}|${escaped}.*sfu).*$`, 'mi'));
}

for (const [what, pluginConfig, key] of [
  ['max_room_size = "abc"', { max_room_size: 'abc' }, 'max_room_size'],
  ['max_room_size = -1', { max_room_size: -1 }, 'max_room_size'],
  ['max_ccu = 1.5', { max_ccu: 1.5 }, 'max_ccu'],
  ['message_threads = "lots"', { message_threads: 'lots' }, 'message_threads'],
  ['auth_key naming a missing file', { auth_key: '/nonexistent/sfu-key.der' }, 'auth_key'],
]) {
  test(`invalid ${what}: the plugin is not loaded and the log names the key`, async () => {
    const janus = await janusWith({ pluginConfig });
    await assertNotLoaded(janus, key);
  });
}

test('invalid value in the legacy INI: the plugin is not loaded', async () => {
  const janus = await janusWith({ legacyCfg: '[general]\nmax_room_size = abc\n' });
  await assertNotLoaded(janus, 'max_room_size');
});

test('a .jcfg syntax error: the plugin is not loaded', async () => {
  const janus = await janusWith({ pluginConfig: { max_room_size: { raw: '= = 3' } } });
  await assertNotLoaded(janus, 'janus.plugin.sfu');
});

test('no configuration file at all: the plugin is not loaded and the log names the file it wants', async () => {
  const janus = await janusWith({ legacyCfg: null, pluginConfig: null });
  await assertNotLoaded(janus, 'janus.plugin.sfu.jcfg');
});
