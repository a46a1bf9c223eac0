// malformed.test.mjs - malformed requests: wrong types, unknown kinds, missing fields, bad JSEPs, huge strings.
// Each gets exactly one refusal (a plugin error event, or the core's error for what the core itself refuses),
// and Janus keeps serving everybody else (reference §3.1, §3.2; docs/PROTOCOL.md §1 field rules).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openUser, publisher, assertError, assertOk, uid, sleep, PARSE_ERROR, janusPerFile } from './lib/sfu.mjs';
import { offerSdp } from './lib/sdp.mjs';

let janus;
const file = janusPerFile({}, (j) => {
  janus = j;
});
const { track } = file;

const room = 'malformed-room';
const MB = 'x'.repeat(1024 * 1024);

/** Bodies the plugin must refuse with the parse error. */
const badBodies = [
  ['join without room_id and user_id', { kind: 'join' }],
  ['join without user_id', { kind: 'join', room_id: room }],
  ['join without room_id', { kind: 'join', user_id: 'u' }],
  ['numeric room_id', { kind: 'join', room_id: 5, user_id: 'u' }],
  ['numeric user_id', { kind: 'join', room_id: room, user_id: 7 }],
  ['null user_id', { kind: 'join', room_id: room, user_id: null }],
  ['array room_id', { kind: 'join', room_id: ['r'], user_id: 'u' }],
  ['object user_id', { kind: 'join', room_id: room, user_id: { id: 'u' } }],
  ['boolean room_id', { kind: 'join', room_id: true, user_id: 'u' }],
  ['string subscribe', { kind: 'join', room_id: room, user_id: 'u', subscribe: 'yes' }],
  ['string subscribe.data', { kind: 'join', room_id: room, user_id: 'u', subscribe: { data: 'true' } }],
  ['numeric subscribe.notifications', { kind: 'join', room_id: room, user_id: 'u', subscribe: { notifications: 1 } }],
  ['null subscribe.notifications', { kind: 'join', room_id: room, user_id: 'u', subscribe: { notifications: null } }],
  ['numeric subscribe.media', { kind: 'join', room_id: room, user_id: 'u', subscribe: { media: 5 } }],
  ['numeric token', { kind: 'join', room_id: room, user_id: 'u', token: 5 }],
  ['object token', { kind: 'join', room_id: room, user_id: 'u', token: {} }],
  ['kind in upper case', { kind: 'JOIN', room_id: room, user_id: 'u' }],
  ['kind with a capital', { kind: 'Join', room_id: room, user_id: 'u' }],
  ['unknown kind', { kind: 'teleport', room_id: room, user_id: 'u' }],
  ['empty kind', { kind: '' }],
  ['numeric kind', { kind: 5 }],
  ['null kind', { kind: null, room_id: room }],
  ['no kind', { room_id: room, user_id: 'u' }],
  ['block without whom', { kind: 'block' }],
  ['block with numeric whom', { kind: 'block', whom: 3 }],
  ['unblock without whom', { kind: 'unblock' }],
  ['data without body', { kind: 'data' }],
  ['data with object body', { kind: 'data', body: { a: 1 } }],
  ['data with numeric body', { kind: 'data', body: 1 }],
  ['data with numeric whom', { kind: 'data', body: 'x', whom: 5 }],
  ['kick without token', { kind: 'kick', room_id: room, user_id: 'u' }],
  ['kick with null token', { kind: 'kick', room_id: room, user_id: 'u', token: null }],
  ['kick without user_id', { kind: 'kick', room_id: room, token: 't' }],
  ['subscribe without what', { kind: 'subscribe' }],
  ['subscribe with string what', { kind: 'subscribe', what: 'alice' }],
  ['subscribe with numeric media', { kind: 'subscribe', what: { media: 1 } }],
  ['1 MB room_id', { kind: 'join', room_id: MB, user_id: 'u' }],
  ['1 MB user_id', { kind: 'join', room_id: room, user_id: MB }],
  ['1 MB whom', { kind: 'block', whom: MB }],
  ['1 MB token', { kind: 'join', room_id: room, user_id: 'u', token: MB }],
  ['empty room_id', { kind: 'join', room_id: '', user_id: 'u' }],
  ['empty user_id', { kind: 'join', room_id: room, user_id: '' }],
];

for (const [what, body] of badBodies) {
  test(`refused: ${what}`, async () => {
    const u = track(await openUser(janus));
    const h = await u.attach();
    const r = await h.message(body);
    assertError(r.plugindata.data, PARSE_ERROR);
    await sleep(50);
    assert.equal(u.conn.responseCount(r.tx), 1, 'exactly one result');
    // The handle still works afterwards.
    assertOk(await h.send({ kind: 'join', room_id: uid('room'), user_id: 'after' }), 'a good join on the same handle');
    await u.close();
  });
}

test('a 64 KiB data body is relayed, a 1 MB one is refused', async () => {
  const r = uid('room');
  const a = await publisher(janus, r, 'alice');
  const b = await publisher(janus, r, 'bob');
  track(a.user);
  track(b.user);
  const big = 'y'.repeat(60 * 1024);
  assertOk(await a.handle.send({ kind: 'data', body: big }), '60 KiB data');
  await b.handle.events.waitFor((m) => m.plugindata?.data?.body === big, 5000);
  const res = await a.handle.send({ kind: 'data', body: MB });
  assertError(res, PARSE_ERROR);
});

/**
 * What the core refuses before the plugin sees it (non-object body or jsep, jsep without sdp or with an
 * unknown type, unparsable SDP) may come back as a core error or a plugin error: one refusal either way.
 */
async function refusedOnce(u, h, body, jsep) {
  let refusal;
  let tx;
  try {
    const r = await h.message(body, jsep);
    tx = r.tx;
    refusal = r.plugindata?.data;
    assert.equal(refusal?.success, false, `expected a refusal, got ${JSON.stringify(refusal)}`);
    assert.equal(refusal.error.msg, PARSE_ERROR);
  } catch (e) {
    if (!e.janus) throw e;
    tx = e.janus.transaction;
    refusal = e.janus.error;
    assert.ok(e.janus.error.code >= 400, JSON.stringify(e.janus));
  }
  await sleep(50);
  assert.equal(u.conn.responseCount(tx), 1, 'exactly one reply');
  return refusal;
}

const badJseps = [
  ['string jsep', {}, 'offer'],
  ['array jsep', {}, [1]],
  ['jsep without sdp', {}, { type: 'offer' }],
  ['jsep without type', {}, { sdp: offerSdp() }],
  ['jsep with numeric sdp', {}, { type: 'offer', sdp: 5 }],
  ['jsep of type pranswer', {}, { type: 'pranswer', sdp: offerSdp() }],
  ['jsep of type OFFER', {}, { type: 'OFFER', sdp: offerSdp() }],
  ['jsep with garbage sdp', {}, { type: 'offer', sdp: 'this is not SDP' }],
  ['jsep with empty sdp', {}, { type: 'offer', sdp: '' }],
  ['jsep with a 1 MB sdp', {}, { type: 'offer', sdp: `v=0\r\n${'a=x\r\n'.repeat(200000)}` }],
  ['string body', 'join', undefined],
  ['array body', [{ kind: 'join' }], undefined],
  ['null body', null, undefined],
];

for (const [what, body, jsep] of badJseps) {
  test(`refused: ${what}`, async () => {
    const u = track(await openUser(janus));
    const h = await u.attach();
    await refusedOnce(u, h, body, jsep);
    assertOk(await h.send({ kind: 'join', room_id: uid('room'), user_id: 'after' }), 'a good join on the same handle');
    await u.close();
  });
}

test('garbage frames and a flood of bad requests do not stop a parallel good join', async () => {
  const r = uid('room');
  const u = track(await openUser(janus));
  const h = await u.attach();
  u.conn.sendRaw('{ not json');
  u.conn.sendRaw(JSON.stringify({ janus: 'message', transaction: 'no-session', body: {} }));
  const flood = [];
  for (let i = 0; i < 5; i++) {
    // On a busy machine the handle's queue may fill (max_queued_requests): Janus's 462 is a refusal too.
    for (const [, body] of badBodies) {
      flood.push(h.message(body).then((x) => x.plugindata.data,
        (e) => (e.janus?.error?.code === 462 ? { success: false } : Promise.reject(e))));
    }
  }
  const good = publisher(janus, r, 'good');
  const [results, g] = await Promise.all([Promise.all(flood), good]);
  track(g.user);
  assert.ok(results.every((x) => x.success === false), 'every bad request refused');
  assert.deepEqual(assertOk(g.join, 'good join during the flood'), { users: { [r]: [] } });
  assert.ok(janus.alive(), 'Janus is still running');
  const again = await publisher(janus, r, 'again');
  track(again.user);
  assert.deepEqual(assertOk(again.join).users[r], ['good']);
});

test('a NUL in a string is refused by the core (jansson) before the plugin sees it', async () => {
  const u = track(await openUser(janus));
  const h = await u.attach();
  const since = u.conn.all.length;
  h.message({ kind: 'join', room_id: room, user_id: 'a\u0000b' }, undefined, { timeoutMs: 2000 }).catch(() => {});
  const err = await u.conn.all.waitFor((m) => m.janus === 'error', 5000, { since });
  assert.equal(err.error.code, 454, JSON.stringify(err));
  assertOk(await h.send({ kind: 'join', room_id: uid('room'), user_id: 'after' }), 'the handle still works');
});

test('a message to a detached handle gets the core\'s error', async () => {
  const u = track(await openUser(janus));
  const h = await u.attach();
  await h.detach();
  await assert.rejects(h.message({ kind: 'join', room_id: 'r', user_id: 'u' }), (e) => !!e.janus?.error);
});

test('Janus is alive after all of the above', () => {
  assert.ok(janus.alive());
  assert.doesNotMatch(janus.logText(), /AddressSanitizer|runtime error:|Segmentation fault/);
});
