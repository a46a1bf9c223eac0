// join.test.mjs - join (publisher and subscriber forms), the users list, join/leave events, subscriber offers,
// zombie detection, and the join-related errors of the protocol (docs/PROTOCOL.md §2, reference §4.1, §5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openUser, publisher, subscriber, assertError, assertOk, uid, sleep, waitEvent, eventsNamed, janusPerFile,
} from './lib/sfu.mjs';
import { offerJsep, answerSdp, parseSdp } from './lib/sdp.mjs';

let janus;
const file = janusPerFile({}, (j) => {
  janus = j;
});
const { track, pub } = file;

test('the plugin is loaded as janus.plugin.sfu', async () => {
  assert.ok((await janus.plugins()).includes('janus.plugin.sfu'), janus.logText().slice(-3000));
});

test('publisher join answers the users already in the room, without the joiner', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  assert.deepEqual(assertOk(a.join, 'join'), { users: { [room]: [] } });
  const b = await pub(room, 'bob');
  assert.deepEqual(assertOk(b.join).users, { [room]: ['alice'] });
  const c = await pub(room, 'carol');
  assert.deepEqual([...assertOk(c.join).users[room]].sort(), ['alice', 'bob']);
  // Another room does not see them.
  const d = await pub(uid('room'), 'dave');
  assert.deepEqual(Object.values(assertOk(d.join).users), [[]]);
});

test('a publisher join sends join to the room\'s other publishers with notifications, not to the joiner', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  const quiet = await pub(room, 'quiet', { notifications: false });
  const b = await pub(room, 'bob');
  const ev = await waitEvent(a.handle, 'join', (d) => d.user_id === 'bob');
  assert.deepEqual(ev.plugindata.data, { event: 'join', user_id: 'bob', room_id: room });
  assert.equal(ev.transaction, undefined, 'events carry no transaction');
  await sleep(300);
  assert.equal(eventsNamed(b.handle, 'join').length, 0, 'the joiner gets no join event about anyone');
  assert.equal(eventsNamed(quiet.handle, 'join').length, 0, 'no notifications without subscribe.notifications');
  assert.equal(eventsNamed(a.handle, 'join').filter((d) => d.user_id === 'alice').length, 0);
});

test('subscriber joins are not in the users list and fire no join event', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  const u = track(await openUser(janus));
  const s = await subscriber(u, room, 'sub-only', 'alice');
  assertOk(s.join, 'subscriber join');
  const plain = await u.attach();
  assertOk(await plain.send({ kind: 'join', room_id: room, user_id: 'nosub' }), 'join without subscribe');
  const b = await pub(room, 'bob');
  assert.deepEqual(assertOk(b.join).users[room], ['alice']);
  await sleep(300);
  assert.deepEqual(eventsNamed(a.handle, 'join').map((d) => d.user_id), ['bob']);
});

test('subscriber join with media returns the publisher\'s subscriber offer (audio, video, data; sendonly)', async () => {
  const room = uid('room');
  await pub(room, 'alice');
  const u = track(await openUser(janus));
  const s = await subscriber(u, room, 'bob', 'alice');
  assert.deepEqual(assertOk(s.join, 'subscriber join'), { users: { [room]: ['alice'] } });
  assert.equal(s.join.jsep?.type, 'offer', 'the join result carries a JSEP offer');
  const m = parseSdp(s.join.jsep.sdp).media;
  assert.deepEqual(m.map((x) => x.kind), ['audio', 'video', 'application']);
  const [audio, video] = m;
  assert.equal(audio.direction, 'sendonly');
  assert.equal(video.direction, 'sendonly');
  assert.ok(audio.pts.includes('111'), `audio keeps the publisher's Opus PT 111: ${audio.pts}`);
  assert.match(audio.rtpmap['111'], /^opus\/48000/i);
  assert.match(audio.fmtp['111'] ?? '', /usedtx=1/);
  assert.ok(video.pts.includes('102'), `video keeps the publisher's H.264 PT 102: ${video.pts}`);
  assert.match(video.rtpmap['102'], /^H264\/90000/i);
  assert.match(video.fmtp['102'] ?? '', /profile-level-id=42e01f/i);
  assert.deepEqual(s.answerResult, { success: true }, 'a JSEP answer is acknowledged with {"success":true}');
  assert.equal(s.answerResult.jsep, undefined);
});

test('subscribing to a publisher that has not sent its offer is an error, not a crash', async () => {
  const room = uid('room');
  await pub(room, 'alice', { offer: false });
  const u = track(await openUser(janus));
  const s = await subscriber(u, room, 'bob', 'alice');
  assertError(s.join, 'Can\'t subscribe to a publisher that has not negotiated media yet.');
  assert.ok(janus.alive());
});

test('subscribing to a nonexistent publisher', async () => {
  const room = uid('room');
  const u = track(await openUser(janus));
  const s = await subscriber(u, room, 'bob', 'nobody');
  assertError(s.join, 'Can\'t subscribe to a nonexistent publisher.');
});

test('a handle joins once', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  assertError(await a.handle.send({ kind: 'join', room_id: room, user_id: 'alice', subscribe: { data: true } }),
    'Handles may only join once!');
  const u = track(await openUser(janus));
  const h = await u.attach();
  assertOk(await h.send({ kind: 'join', room_id: room, user_id: 'x' }));
  assertError(await h.send({ kind: 'join', room_id: room, user_id: 'x' }), 'Handles may only join once!');
});

test('null optional fields mean absent', async () => {
  const room = uid('room');
  const u = track(await openUser(janus));
  const h = await u.attach();
  const r = await h.send({ kind: 'join', room_id: room, user_id: 'n', subscribe: null, token: null });
  assertOk(r, 'join with null subscribe and token');
  const h2 = await u.attach();
  const r2 = await h2.send({ kind: 'join', room_id: room, user_id: 'm', subscribe: { media: null, data: true }, extra: 1 });
  assertOk(r2, 'join with media:null and an unknown field');
});

test('leave is sent when a user\'s handle is detached', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  const b = await pub(room, 'bob');
  await waitEvent(a.handle, 'join', (d) => d.user_id === 'bob');
  await b.handle.detach();
  const ev = await waitEvent(a.handle, 'leave', (d) => d.user_id === 'bob');
  assert.deepEqual(ev.plugindata.data, { event: 'leave', user_id: 'bob', room_id: room });
  // The detached handle is gone for the core too.
  await assert.rejects(b.handle.send({ kind: 'block', whom: 'alice' }));
});

test('leave is sent when a user\'s WebSocket closes (all handles go), once', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  const b = await pub(room, 'bob');
  await subscriber(b.user, room, 'bob', 'alice');
  await waitEvent(a.handle, 'join', (d) => d.user_id === 'bob');
  await b.user.close();
  await waitEvent(a.handle, 'leave', (d) => d.user_id === 'bob', 10000);
  await sleep(500);
  assert.equal(eventsNamed(a.handle, 'leave').filter((d) => d.user_id === 'bob').length, 1, 'exactly one leave');
});

test('leave waits for the user\'s last handle', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  const b = await pub(room, 'bob');
  const sub = await subscriber(b.user, room, 'bob', 'alice');
  await waitEvent(a.handle, 'join', (d) => d.user_id === 'bob');
  await b.handle.detach();
  await sleep(500);
  assert.equal(eventsNamed(a.handle, 'leave').length, 0, 'bob still has a subscriber handle');
  await sub.handle.detach();
  await waitEvent(a.handle, 'leave', (d) => d.user_id === 'bob');
});

test('a subscriber-only user also produces leave', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice');
  const u = track(await openUser(janus));
  const s = await subscriber(u, room, 'watcher', 'alice');
  assertOk(s.join);
  await s.handle.detach();
  await waitEvent(a.handle, 'leave', (d) => d.user_id === 'watcher' && d.room_id === room);
});

test('zombie detection: a second publisher join with the same user_id succeeds and lists that user', async () => {
  const room = uid('room');
  const old = await pub(room, 'zed');
  const again = await pub(room, 'zed');
  assert.ok(assertOk(again.join, 'second publisher join of zed').users[room].includes('zed'),
    `users must include the joiner's own id: ${JSON.stringify(again.join)}`);
  assert.ok(old);
});

test('the JSEP offer of a publisher is answered recvonly Opus + H.264 42e01f + data', async () => {
  const u = track(await openUser(janus));
  const h = await u.attach();
  const r = await h.send({}, offerJsep());
  assert.equal(r.success, true, JSON.stringify(r));
  assert.equal(r.response, undefined, 'a JSEP-only request answers {"success":true}');
  assert.equal(r.jsep?.type, 'answer');
  const m = parseSdp(r.jsep.sdp).media;
  assert.deepEqual(m.map((x) => x.kind), ['audio', 'video', 'application']);
  assert.equal(m[0].direction, 'recvonly');
  assert.match(m[0].rtpmap['111'], /^opus/i);
  assert.match(m[0].fmtp['111'] ?? '', /usedtx=1/);
  assert.equal(m[1].direction, 'recvonly');
  assert.ok(m[1].port !== 0, 'H.264 video accepted');
  assert.match(m[1].rtpmap['102'], /^H264/i);
  assert.match(m[1].fmtp['102'] ?? '', /profile-level-id=42e01f/i);
  assert.ok(m[2].port !== 0, 'data channel accepted');
});

test('data-only, audio-only and VP8-only offers are answered', async () => {
  const u = track(await openUser(janus));
  for (const [what, opts] of [['data-only', { audio: false, video: false }], ['audio-only', { video: false }],
    ['vp8-only', { video: 'vp8' }]]) {
    const h = await u.attach();
    const r = await h.send({}, offerJsep(opts));
    assert.equal(r.success, true, `${what}: ${JSON.stringify(r)}`);
    assert.equal(r.jsep?.type, 'answer', what);
    const m = parseSdp(r.jsep.sdp).media;
    const app = m.find((x) => x.kind === 'application');
    assert.ok(app && app.port !== 0, `${what}: data channel accepted`);
  }
});

test('renegotiation pushes the new subscriber offer (data {}, no transaction) to existing subscribers', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice', { offer: { audio: false, video: false } });
  const u = track(await openUser(janus));
  const s = await subscriber(u, room, 'bob', 'alice');
  assertOk(s.join);
  const since = s.handle.events.length;
  const r = await a.handle.send({}, offerJsep());
  assert.equal(r.success, true);
  assert.equal(r.jsep?.type, 'answer');
  const ev = await s.handle.events.waitFor((m) => m.janus === 'event' && m.jsep?.type === 'offer', 5000,
    { since, what: 'renegotiation offer' });
  assert.equal(ev.transaction, undefined);
  assert.deepEqual(ev.plugindata.data, {});
  const m = parseSdp(ev.jsep.sdp).media;
  assert.deepEqual(m.map((x) => x.kind), ['audio', 'video', 'application']);
  assert.ok(m[1].pts.includes('102'), 'the new offer carries the publisher\'s H.264 PT');
  const ans = await s.handle.send({}, { type: 'answer', sdp: answerSdp(ev.jsep.sdp) });
  assert.deepEqual(ans, { success: true });
  // The publisher handle itself gets no offer.
  assert.equal(a.handle.events.filter((x) => x.jsep?.type === 'offer').length, 0);
});

test('a body with both a join and a JSEP offer: the result is the join\'s, with the answer', async () => {
  const room = uid('room');
  const u = track(await openUser(janus));
  const h = await u.attach();
  const r = await h.send({ kind: 'join', room_id: room, user_id: 'both', subscribe: { data: true, notifications: true } },
    offerJsep());
  assert.deepEqual(assertOk(r), { users: { [room]: [] } });
  assert.equal(r.jsep?.type, 'answer');
});
