// codec.test.mjs - the room video codec policy (video_codec, docs/PROTOCOL.md §4) at the SDP level: static
// browser-like offers (Chromium: H.264 and VP8; Firefox without OpenH264: VP8 only, Opus 109) through a real Janus,
// asserting the answers, the subscriber offers and the plugin's own offer to a publisher when a room switches.
// tests/e2e/browser-mixed.test.mjs shows the same with real browsers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startJanus } from './lib/janus.mjs';
import {
  openUser, publisher, subscriber, assertOk, uid, janusPerFile,
} from './lib/sfu.mjs';
import { offerJsep, answerSdp, parseSdp } from './lib/sdp.mjs';

const file = janusPerFile({});
const { track, pub } = file;

const others = [];
after(async () => {
  for (const c of others.reverse()) await c().catch(() => {});
});

/** A Janus with the given video_codec, stopped after the file. */
async function janusWith(videoCodec) {
  const j = await startJanus({ pluginConfig: { video_codec: videoCodec } });
  others.push(() => j.stop());
  return j;
}

const media = (sdp) => parseSdp(sdp).media;
const video = (sdp) => media(sdp).find((m) => m.kind === 'video');
const audio = (sdp) => media(sdp).find((m) => m.kind === 'audio');
/** The codec names of a video m-line, in its payload type order. */
const codecsOf = (m) => m.pts.map((pt) => (m.rtpmap[pt] ?? '').split('/')[0]).filter((c) => c && c !== 'rtx');

/** The plugin's offers to `handle` (unsolicited events with a JSEP offer) from event index `since`. */
const offersTo = (handle, since = 0) => handle.events.filter((e, i) => i >= since && e.jsep?.type === 'offer');

test('auto: a Chromium-like publisher is answered H.264; subscribers get H.264 then VP8, at its payload types', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice', { offer: { video: 'both' } });
  assertOk(a.join);
  const v = video(a.answer.sdp);
  assert.ok(v.port !== 0);
  assert.deepEqual(codecsOf(v), ['H264'], 'answered with H.264 only');
  assert.deepEqual(v.pts, ['102', ...v.pts.slice(1)]);
  const u = track(await openUser(file.janus));
  const s = await subscriber(u, room, 'bob', 'alice');
  assertOk(s.join);
  const sv = video(s.join.jsep.sdp);
  assert.deepEqual(codecsOf(sv), ['H264', 'VP8'], 'subscriber offer: H.264 first, VP8 ready for a switch');
  assert.equal(sv.pts[0], '102');
  assert.ok(sv.pts.includes('96'), 'VP8 at the publisher\'s payload type');
  assert.match(sv.fmtp['102'], /profile-level-id=42e01f/);
  assert.equal(audio(s.join.jsep.sdp).pts[0], '111');
});

test('a Firefox-like publisher\'s Opus 109 and VP8 120 are what its subscribers are offered', async () => {
  const room = uid('room');
  const f = await pub(room, 'fox', { offer: { video: 'firefox' } });
  assertOk(f.join);
  assert.deepEqual(codecsOf(video(f.answer.sdp)), ['VP8']);
  const u = track(await openUser(file.janus));
  const s = await subscriber(u, room, 'bob', 'fox');
  // Before the fix, Opus was always offered as 111 (Chromium's): Firefox's audio was dropped by every receiver.
  assert.deepEqual(audio(s.join.jsep.sdp).pts, ['109']);
  assert.equal(audio(s.join.jsep.sdp).rtpmap['109'], 'opus/48000/2');
  const sv = video(s.join.jsep.sdp);
  assert.deepEqual(codecsOf(sv), ['VP8']);
  assert.equal(sv.pts[0], '120');
});

test('auto: a VP8-only publisher switches the room; H.264 publishers get the plugin\'s VP8 offer, then their subscribers', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice', { offer: { video: 'both' } });
  assertOk(a.join);
  const u = track(await openUser(file.janus));
  const s = await subscriber(u, room, 'bob', 'alice');
  assertOk(s.answerResult);
  const aSince = a.handle.events.length;
  const sSince = s.handle.events.length;

  // naf order: join first, then the offer with media.
  const fu = track(await openUser(file.janus));
  const f = await publisher(file.janus, room, 'fox', { offer: null, user: fu });
  assertOk(f.join);
  const fr = await f.handle.send({}, offerJsep({ video: 'firefox' }));
  assert.deepEqual(codecsOf(video(fr.jsep.sdp)), ['VP8'], 'the Firefox-like publisher is answered VP8');

  const ev = await a.handle.events.waitFor((e) => e.jsep?.type === 'offer', 5000, { since: aSince, what: 'VP8 offer' });
  assert.equal(ev.transaction, undefined);
  assert.deepEqual(ev.plugindata.data, { event: 'video_codec', room_id: room, video_codec: 'vp8' });
  // The offer mirrors the publisher's m-lines (kinds, order, mids), recvonly, VP8 at its payload type 96.
  const before = media(a.answer.sdp);
  const offered = media(ev.jsep.sdp);
  assert.deepEqual(offered.map((m) => [m.kind, m.mid]), before.map((m) => [m.kind, m.mid]));
  const ov = offered.find((m) => m.kind === 'video');
  assert.deepEqual(codecsOf(ov), ['VP8']);
  assert.equal(ov.pts[0], '96');
  assert.equal(ov.direction, 'recvonly');
  assert.equal(offered.find((m) => m.kind === 'audio').direction, 'recvonly');
  // Nothing reaches the subscriber before the publisher answered.
  assert.equal(offersTo(s.handle, sSince).length, 0);

  const ans = await a.handle.send({}, { type: 'answer', sdp: answerSdp(ev.jsep.sdp, { direction: 'sendonly' }) });
  assert.deepEqual(ans, { success: true });
  const re = await s.handle.events.waitFor((e) => e.jsep?.type === 'offer', 5000, { since: sSince, what: 'subscriber re-offer' });
  assert.deepEqual(re.plugindata.data, {});
  assert.deepEqual(codecsOf(video(re.jsep.sdp)), ['VP8', 'H264'], 'VP8 first now');
  assert.equal(video(re.jsep.sdp).pts[0], '96');
  assertOk(await s.handle.send({}, { type: 'answer', sdp: answerSdp(re.jsep.sdp) }));

  // A later publisher (naf order) is answered VP8 at once; the Firefox-like one got no offer of the plugin.
  const c = await publisher(file.janus, room, 'carol', { offer: null, user: track(await openUser(file.janus)) });
  const cr = await c.handle.send({}, offerJsep({ video: 'both' }));
  assert.deepEqual(codecsOf(video(cr.jsep.sdp)), ['VP8']);
  assert.equal(offersTo(f.handle).length, 0);
  // One whose offer came before its join (answered with the initial H.264) is renegotiated once joined.
  const e = await pub(room, 'erin', { offer: { video: 'both' } });
  assert.deepEqual(codecsOf(video(e.answer.sdp)), ['H264']);
  const ee = await e.handle.events.waitFor((x) => x.jsep?.type === 'offer', 5000, { what: 'VP8 offer after join' });
  assert.deepEqual(codecsOf(video(ee.jsep.sdp)), ['VP8']);
  assert.equal(offersTo(a.handle, aSince).length, 1, 'one offer per switch');
  // Another room is not affected.
  const other = await pub(uid('room'), 'dave', { offer: { video: 'both' } });
  assert.deepEqual(codecsOf(video(other.answer.sdp)), ['H264']);
});

test('auto: a participant without camera whose subscriber answer leaves out H.264 switches the room', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice', { offer: { video: 'both' } });
  const aSince = a.handle.events.length;
  const l = await pub(room, 'listener', { offer: { audio: false, video: false } });
  assertOk(l.join);
  const s = await subscriber(l.user, room, 'listener', 'alice', { answer: false });
  const sv = video(s.join.jsep.sdp);
  assert.deepEqual(codecsOf(sv), ['H264', 'VP8']);
  // A Chromium-like answer keeps H.264: no switch.
  const u2 = track(await openUser(file.janus));
  const s2 = await subscriber(u2, room, 'chrome', 'alice');
  assertOk(s2.answerResult);
  // The listener answers with VP8 only, as Firefox without OpenH264 does.
  assertOk(await s.handle.send({}, { type: 'answer', sdp: answerSdp(s.join.jsep.sdp, { videoPt: '96' }) }));
  const ev = await a.handle.events.waitFor((e) => e.jsep?.type === 'offer', 5000, { since: aSince, what: 'VP8 offer' });
  assert.equal(ev.plugindata.data.video_codec, 'vp8');
});

test('auto: a room of H.264 publishers and H.264 answers never switches', async () => {
  const room = uid('room');
  const a = await pub(room, 'alice', { offer: { video: 'both' } });
  const b = await pub(room, 'bob', { offer: { video: 'h264' } });
  const s = await subscriber(b.user, room, 'bob', 'alice');
  assertOk(s.answerResult);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(offersTo(a.handle).length, 0);
  assert.equal(offersTo(b.handle).length, 0);
  assert.deepEqual(codecsOf(video(b.answer.sdp)), ['H264']);
});

test('video_codec = "h264": a VP8-only publisher\'s video is refused (audio and data kept), nobody switches', async () => {
  const janus = await janusWith('h264');
  const room = uid('room');
  const a = await publisher(janus, room, 'alice', { offer: { video: 'both' } });
  others.push(() => a.user.close());
  const f = await publisher(janus, room, 'fox', { offer: { video: 'firefox' } });
  others.push(() => f.user.close());
  assertOk(f.join);
  const fm = media(f.answer.sdp);
  assert.equal(fm.find((m) => m.kind === 'video').port, 0, 'video refused');
  assert.ok(fm.find((m) => m.kind === 'audio').port !== 0, 'audio kept');
  assert.ok(fm.find((m) => m.kind === 'application').port !== 0, 'data kept');
  assert.deepEqual(codecsOf(video(a.answer.sdp)), ['H264']);
  const s = await subscriber(f.user, room, 'fox', 'alice', { answer: false });
  assert.deepEqual(codecsOf(video(s.join.jsep.sdp)), ['H264'], 'H.264 only');
  assertOk(await s.handle.send({}, { type: 'answer', sdp: answerSdp(s.join.jsep.sdp, { videoPt: null }) }));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(offersTo(a.handle).length, 0);
});

test('video_codec = "vp8": publishers are answered VP8; an H.264-only one has its video refused', async () => {
  const janus = await janusWith('vp8');
  const room = uid('room');
  const a = await publisher(janus, room, 'alice', { offer: { video: 'both' } });
  others.push(() => a.user.close());
  assert.deepEqual(codecsOf(video(a.answer.sdp)), ['VP8']);
  const h = await publisher(janus, room, 'old-safari', { offer: { video: 'h264' } });
  others.push(() => h.user.close());
  assert.equal(video(h.answer.sdp)?.port ?? media(h.answer.sdp).find((m) => m.kind === 'video').port, 0);
  const s = await subscriber(h.user, room, 'old-safari', 'alice');
  assert.deepEqual(codecsOf(video(s.join.jsep.sdp)), ['VP8'], 'VP8 only');
});
