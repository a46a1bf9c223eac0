// harness.test.mjs - the test harness itself, against Janus's own echotest plugin (no janus.plugin.sfu needed):
// Janus starts from the templates, answers on WebSockets, HTTP and the admin API, relays a JSEP offer
// through a plugin, and stops cleanly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJanus } from './lib/janus.mjs';
import { connect } from './lib/client.mjs';
import { adminClient } from './lib/admin.mjs';
import { offerJsep } from './lib/sdp.mjs';

let janus;
before(async () => {
  janus = await startJanus({ withSfu: false, extraPlugins: ['libjanus_echotest.so'] });
});
after(() => janus?.stop());

test('Janus answers info on HTTP and WebSockets', async () => {
  const info = await (await fetch(`${janus.httpUrl}/info`)).json();
  assert.equal(info.janus, 'server_info');
  assert.ok(info.plugins['janus.plugin.echotest'], 'echotest loaded');
  const conn = await connect(janus.wsUrl);
  try {
    const r = await conn.info();
    assert.equal(r.janus, 'server_info');
  } finally {
    await conn.close();
  }
});

test('Janus runs with the recommended event_loops of the template (docs/PERFORMANCE.md)', async () => {
  const info = await (await fetch(`${janus.httpUrl}/info`)).json();
  assert.equal(info['static-event-loops'], 2, JSON.stringify(info));
  const loops = await adminClient(janus).post('', { janus: 'loops_info' });
  assert.equal(loops.loops?.length, 2, JSON.stringify(loops));
});

test('a JSEP offer through echotest gets an answer, exactly once', async () => {
  const conn = await connect(janus.wsUrl);
  try {
    const s = await conn.createSession();
    const h = await s.attach('janus.plugin.echotest');
    const r = await h.message({ audio: true, video: true }, offerJsep());
    assert.equal(r.janus, 'event');
    assert.equal(r.jsep?.type, 'answer');
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(conn.responseCount(r.tx), 1);
    await h.detach();
    await s.destroy();
  } finally {
    await conn.close();
  }
});

test('attach to a plugin that is not loaded fails with a core error', async () => {
  const conn = await connect(janus.wsUrl);
  try {
    const s = await conn.createSession();
    await assert.rejects(s.attach('janus.plugin.sfu'), (e) => e.janus?.error?.code === 460);
  } finally {
    await conn.close();
  }
});

test('admin API answers with the admin secret and refuses without it', async () => {
  const admin = adminClient(janus);
  const ok = await admin.listSessions();
  assert.equal(ok.janus, 'success', JSON.stringify(ok));
  const bad = await adminClient({ ...janus, adminSecret: 'wrong' }).listSessions();
  assert.equal(bad.janus, 'error');
});
