// browser.test.mjs - three headless Chromium pages with the UNMODIFIED naf-janus-adapter 4.0.1 in one room,
// through a real Janus with janus.plugin.sfu: occupants, audio and video (H.264), data on the reliable and
// unreliable data channels and through the WebSocket (kind:"data"), block/unblock, and leave on close.
//
// One browser (playwright-core, Debian's /usr/bin/chromium, fake camera and microphone), a fresh profile, a
// tiny HTTP server for the test page. Run inside the test network of scripts/netns.sh (Janus in its own namespace,
// gathering on v0 only); outside it Janus uses the host's interfaces, which works too on a machine with a LAN address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startJanus } from './lib/janus.mjs';
import {
  CHROMIUM, PHASE_MS, ADAPTER, sleep, until as untilWith, pageDiagnostics, serveTestPage, launchBrowser, deliverer,
} from './lib/browser.mjs';

const ROOM = 'browser-room';
const IDS = ['1001', '1002', '1003'];

let browser;
let janus;
let server;
let pageUrl;
let context;
const pages = {}; // id -> playwright page
const consoleLogs = {}; // id -> lines
let setupOk = false;


/** Polls fn until truthy (lib/browser.mjs), with this file's diagnostics on timeout. */
const until = (what, fn, timeoutMs = PHASE_MS, intervalMs = 500) =>
  untilWith(what, fn, { timeoutMs, intervalMs, diagnostics });

const diagnostics = () => pageDiagnostics(pages, consoleLogs, janus);

const ev = (id, fn, arg) => pages[id].evaluate(fn, arg);
const stats = (id) => ev(id, () => window.sfu.stats());

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing (apt-get install chromium)`);
  assert.ok(existsSync(ADAPTER), `${ADAPTER} missing (npm ci)`);
  janus = await startJanus();
  server = await serveTestPage();
  pageUrl = `http://127.0.0.1:${server.address().port}/`;
  browser = await launchBrowser();
  context = browser.context;
});

after(async () => {
  await browser?.close();
  server?.close();
  await janus?.stop();
});

test('Chromium supports H.264 in WebRTC (naf keeps video only then)', async () => {
  const p = await context.newPage();
  await p.goto(pageUrl);
  const caps = await p.evaluate(() => ({
    recv: RTCRtpReceiver.getCapabilities('video').codecs.map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`),
    send: RTCRtpSender.getCapabilities('video').codecs.map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`),
    canPlay: document.createElement('video').canPlayType('video/mp4; codecs="avc1.42E01E, mp4a.40.2"'),
  }));
  await p.close();
  const h264 = (l) => l.some((c) => /H264.*profile-level-id=42e01f/i.test(c) && /packetization-mode=1/.test(c));
  assert.ok(h264(caps.recv), `no H.264 42e01f receive: ${caps.recv.join(' | ')}`);
  assert.ok(h264(caps.send), `no H.264 42e01f send: ${caps.send.join(' | ')}`);
  assert.notEqual(caps.canPlay, '', 'canPlayType(avc1) empty: naf-janus-adapter would strip video');
});

test('three pages join one room and see each other as occupants', { timeout: 4 * PHASE_MS }, async () => {
  const wsUrl = janus.wsUrl;
  for (const id of IDS) {
    const p = await context.newPage();
    pages[id] = p;
    consoleLogs[id] = [];
    p.on('console', (m) => consoleLogs[id].push(`[${m.type()}] ${m.text()}`));
    p.on('pageerror', (e) => consoleLogs[id].push(`[pageerror] ${e.message}`));
    await p.goto(pageUrl);
    await p.evaluate((o) => window.sfu.connect(o), { serverUrl: wsUrl, room: ROOM, clientId: id });
  }
  for (const id of IDS) {
    const others = IDS.filter((x) => x !== id);
    await until(`${id} subscribed to ${others}`, async () => {
      const o = await ev(id, () => window.sfu.occupants());
      return others.every((x) => o.subscribed.includes(x) && o.available.includes(x)) && !o.subscribed.includes(id) && o;
    });
  }
  setupOk = true;
});

test('every page receives the audio and video of the other two', { timeout: 2 * PHASE_MS }, async (t) => {
  if (!setupOk) return t.skip('setup failed');
  for (const id of IDS) {
    const others = IDS.filter((x) => x !== id);
    const s = await until(`${id} receives audio+video from ${others}`, async () => {
      const st = await stats(id);
      return others.every((x) => st[x] && st[x].audioBytes > 0 && st[x].videoBytes > 0 && st[x].framesDecoded > 0) && st;
    });
    for (const x of others) {
      assert.ok(s[x].codecs.some((c) => /H264/i.test(c)), `${id} decodes ${x}'s video as H.264: ${s[x].codecs}`);
    }
  }
});

const deliver = deliverer(ev, until);

test('messages arrive on the reliable and unreliable data channels and through the WebSocket', { timeout: 4 * PHASE_MS }, async (t) => {
  if (!setupOk) return t.skip('setup failed');
  for (const transport of ['reliable', 'unreliable', 'websocket']) {
    await deliver('1001', transport, null, ['1002', '1003']);
    await deliver('1002', transport, null, ['1001', '1003']);
  }
  // websocket with whom: only that user gets it.
  const tag = await deliver('1003', 'websocket', '1001', ['1001']);
  await sleep(500);
  assert.equal((await ev('1002', (x) => window.sfu.received(x), tag)).length, 0, 'whom: only the addressee');
  assert.equal((await ev('1003', (x) => window.sfu.received(x), tag)).length, 0, 'not echoed to the sender');
});

async function bytesFrom(id, other) {
  const s = (await stats(id))[other];
  return s ? { a: s.audioBytes, v: s.videoBytes, f: s.framesDecoded } : null;
}

test('block stops media and data-channel messages between two users; unblock restores them', { timeout: 6 * PHASE_MS }, async (t) => {
  if (!setupOk) return t.skip('setup failed');
  const [A, B, C] = IDS;
  await ev(A, (x) => window.sfu.block(x), B);
  await until(`${B} gets the blocked event by ${A}`, async () =>
    (await ev(B, () => window.sfu.state.domEvents)).some((e) => e.type === 'blocked' && e.clientId === A));

  // Media: let in-flight packets drain, then nothing more may arrive in either direction.
  await sleep(2000);
  const before = { ab: await bytesFrom(A, B), ba: await bytesFrom(B, A), ca: await bytesFrom(C, A) };
  await sleep(4000);
  const afterBlock = { ab: await bytesFrom(A, B), ba: await bytesFrom(B, A), ca: await bytesFrom(C, A) };
  assert.equal(afterBlock.ab.a, before.ab.a, `${A} still receives ${B}'s audio`);
  assert.equal(afterBlock.ab.v, before.ab.v, `${A} still receives ${B}'s video`);
  assert.equal(afterBlock.ba.a, before.ba.a, `${B} still receives ${A}'s audio`);
  assert.equal(afterBlock.ba.v, before.ba.v, `${B} still receives ${A}'s video`);
  assert.ok(afterBlock.ca.v > before.ca.v && afterBlock.ca.a > before.ca.a, `${C} must still receive ${A}`);

  // Data channels: C gets A's and B's messages, B and A get nothing from each other.
  const t1 = await deliver(A, 'reliable', null, [C]);
  const t2 = await deliver(B, 'reliable', null, [C]);
  const t3 = await deliver(A, 'unreliable', null, [C]);
  await sleep(1500);
  assert.equal((await ev(B, (x) => window.sfu.received(x), t1)).length, 0, `${B} got ${A}'s reliable message`);
  assert.equal((await ev(A, (x) => window.sfu.received(x), t2)).length, 0, `${A} got ${B}'s reliable message`);
  assert.equal((await ev(B, (x) => window.sfu.received(x), t3)).length, 0, `${B} got ${A}'s unreliable message`);

  await ev(A, (x) => window.sfu.unblock(x), B);
  await until(`${B} gets the unblocked event by ${A}`, async () =>
    (await ev(B, () => window.sfu.state.domEvents)).some((e) => e.type === 'unblocked' && e.clientId === A));
  await until(`media flows again between ${A} and ${B} (frames decoded)`, async () => {
    const ab = await bytesFrom(A, B);
    const ba = await bytesFrom(B, A);
    return ab.a > afterBlock.ab.a && ab.v > afterBlock.ab.v && ab.f > afterBlock.ab.f + 5
      && ba.a > afterBlock.ba.a && ba.v > afterBlock.ba.v && ba.f > afterBlock.ba.f + 5;
  });
  await deliver(A, 'reliable', null, [B, C]);
  await deliver(B, 'reliable', null, [A, C]);
});

test('closing a page delivers leave: the others drop that occupant', { timeout: 2 * PHASE_MS }, async (t) => {
  if (!setupOk) return t.skip('setup failed');
  const gone = IDS[2];
  await pages[gone].close();
  delete pages[gone];
  for (const id of IDS.slice(0, 2)) {
    await until(`${id} drops ${gone}`, async () => {
      const o = await ev(id, () => window.sfu.occupants());
      const disc = await ev(id, () => window.sfu.state.disconnected);
      return !o.available.includes(gone) && !o.subscribed.includes(gone) && disc.includes(gone);
    });
  }
  // The two left still hear each other.
  const [A, B] = IDS;
  const b0 = await bytesFrom(A, B);
  await until(`${A} still receives ${B}`, async () => (await bytesFrom(A, B)).a > b0.a);
});
