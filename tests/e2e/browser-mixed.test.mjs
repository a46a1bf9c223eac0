// browser-mixed.test.mjs - Chromium and Firefox pages with the UNMODIFIED naf-janus-adapter 4.0.1 in one room,
// through a real Janus with janus.plugin.sfu under its default video_codec policy (auto, docs/PROTOCOL.md §4):
//   A. an open room: two Chromium pages publish H.264, then a Firefox page without H.264 joins; the room switches
//      to VP8 (the Chromium publishers answer the plugin's offer), and every page receives the audio and decodes
//      the video of every other, both ways; messages on the reliable and unreliable data channels and through the
//      WebSocket; block/unblock between a Firefox and a Chromium page; leave of a Chromium and of a Firefox page;
//   B. a private room (auth_key, RS512 tokens minted here): a Chromium and a Firefox page with their own tokens,
//      the same checks; a Firefox page without a valid token is refused and never seen.
// One Chromium (playwright-core) and one Firefox (puppeteer-core over WebDriver BiDi, Debian's firefox-esr, no
// OpenH264) for the whole file, several pages each. Runs in the test network of scripts/netns.sh (see there why
// Firefox needs it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startJanus } from './lib/janus.mjs';
import {
  CHROMIUM, FIREFOX, PHASE_MS, ADAPTER, sleep, until as untilWith, pageDiagnostics, serveTestPage, launchBrowser,
  deliverer,
} from './lib/browser.mjs';
import { makeKeys, joinToken } from './lib/jwt.mjs';

const browsers = {}; // chromium | firefox -> launchBrowser()
let janus; // the open one (scenario A), then the private one (scenario B)
let openJanus;
let authJanus;
let keys;
let server;
let pageUrl;
const pages = {}; // id -> page (playwright or puppeteer: the same calls are used)
const consoleLogs = {};
const ready = {};

const until = (what, fn, timeoutMs = PHASE_MS, intervalMs = 500) =>
  untilWith(what, fn, { timeoutMs, intervalMs, diagnostics });
const diagnostics = () => pageDiagnostics(pages, consoleLogs, janus);
const ev = (id, fn, arg) => pages[id].evaluate(fn, arg);
const stats = (id) => ev(id, () => window.sfu.stats());
const occupants = (id) => ev(id, () => window.sfu.occupants());
const deliver = deliverer(ev, until);
const kindOf = (id) => (id.startsWith('f') ? 'firefox' : 'chromium');

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing (apt-get install chromium)`);
  assert.ok(existsSync(FIREFOX), `${FIREFOX} missing (apt-get install firefox-esr)`);
  assert.ok(existsSync(ADAPTER), `${ADAPTER} missing (npm ci)`);
  keys = makeKeys();
  openJanus = await startJanus();
  authJanus = await startJanus({ pluginConfig: { auth_key: join(keys.dir, 'public.der') } });
  janus = openJanus;
  server = await serveTestPage();
  pageUrl = `http://127.0.0.1:${server.address().port}/`;
  browsers.chromium = await launchBrowser('chromium');
  browsers.firefox = await launchBrowser('firefox');
});

after(async () => {
  for (const id of Object.keys(pages)) await closePage(id);
  for (const b of Object.values(browsers)) await b.close();
  server?.close();
  await openJanus?.stop();
  await authJanus?.stop();
  if (keys) rmSync(keys.dir, { recursive: true, force: true });
});

async function openPage(id) {
  const p = await browsers[kindOf(id)].context.newPage();
  pages[id] = p;
  consoleLogs[id] = [];
  p.on('console', (m) => consoleLogs[id].push(`[${m.type()}] ${m.text()}`));
  p.on('pageerror', (e) => consoleLogs[id].push(`[pageerror] ${e.message}`));
  await p.goto(pageUrl);
  return p;
}

async function closePage(id) {
  const p = pages[id];
  delete pages[id];
  if (p) await p.close().catch(() => {});
}

async function connectOk(id, room, token) {
  const r = await ev(id, (o) => window.sfu.tryConnect(o), { serverUrl: janus.wsUrl, room, clientId: id, token });
  assert.equal(r.ok, true, `${id} failed to connect: ${JSON.stringify(r.error)}\n${await diagnostics()}`);
}

async function untilAllSubscribed(ids) {
  for (const id of ids) {
    const others = ids.filter((x) => x !== id);
    await until(`${id} subscribed to ${others}`, async () => {
      const o = await occupants(id);
      return others.every((x) => o.subscribed.includes(x) && o.available.includes(x)) && !o.subscribed.includes(id);
    });
  }
}

/** Every page of `ids` receives audio and decodes the video (VP8) of every other. */
async function untilEveryoneDecodesEveryone(ids, minFrames = 10) {
  for (const id of ids) {
    const others = ids.filter((x) => x !== id);
    const s = await until(`${id} receives audio and decodes the video of ${others}`, async () => {
      const st = await stats(id);
      return others.every((x) => st[x] && st[x].audioBytes > 0 && st[x].videoBytes > 0
        && st[x].framesDecoded >= minFrames) && st;
    });
    for (const x of others) {
      assert.ok(s[x].codecs.some((c) => /VP8/i.test(c)), `${id} decodes ${x}'s video as VP8: ${s[x].codecs}`);
    }
  }
}

async function bytesFrom(id, other) {
  const s = (await stats(id))[other];
  return s ? { a: s.audioBytes, v: s.videoBytes, f: s.framesDecoded } : null;
}

/** Messages of each transport from each page of `ids` reach all the others. */
async function messagesBothWays(ids) {
  for (const transport of ['reliable', 'unreliable', 'websocket']) {
    for (const from of ids) await deliver(from, transport, null, ids.filter((x) => x !== from));
  }
}

/** A blocks B: nothing flows between them either way (media, data channels) while `C` (if any) still gets both;
 * unblock restores media (frames decoded) and messages. */
async function blockAndUnblock(A, B, C) {
  await ev(A, (x) => window.sfu.block(x), B);
  await until(`${B} gets the blocked event by ${A}`, async () =>
    (await ev(B, () => window.sfu.state.domEvents)).some((e) => e.type === 'blocked' && e.clientId === A));
  await sleep(2000);
  const s0 = { ab: await bytesFrom(A, B), ba: await bytesFrom(B, A), ca: C && await bytesFrom(C, A), cb: C && await bytesFrom(C, B) };
  await sleep(4000);
  const s1 = { ab: await bytesFrom(A, B), ba: await bytesFrom(B, A), ca: C && await bytesFrom(C, A), cb: C && await bytesFrom(C, B) };
  for (const k of ['ab', 'ba']) {
    assert.equal(s1[k].a, s0[k].a, `${k}: audio still flows while blocked`);
    assert.equal(s1[k].v, s0[k].v, `${k}: video still flows while blocked`);
  }
  if (C) {
    for (const k of ['ca', 'cb']) assert.ok(s1[k].a > s0[k].a && s1[k].f > s0[k].f, `${k}: ${C} must still receive`);
  }
  const t1 = await deliver(A, 'reliable', null, C ? [C] : []);
  const t2 = await deliver(B, 'unreliable', null, C ? [C] : []);
  await sleep(1500);
  assert.equal((await ev(B, (x) => window.sfu.received(x), t1)).length, 0, `${B} got ${A}'s reliable message`);
  assert.equal((await ev(A, (x) => window.sfu.received(x), t2)).length, 0, `${A} got ${B}'s unreliable message`);

  await ev(A, (x) => window.sfu.unblock(x), B);
  await until(`${B} gets the unblocked event by ${A}`, async () =>
    (await ev(B, () => window.sfu.state.domEvents)).some((e) => e.type === 'unblocked' && e.clientId === A));
  await until(`media flows again between ${A} and ${B} (frames decoded)`, async () => {
    const ab = await bytesFrom(A, B);
    const ba = await bytesFrom(B, A);
    return ab.a > s1.ab.a && ab.f > s1.ab.f + 5 && ba.a > s1.ba.a && ba.f > s1.ba.f + 5;
  });
  await deliver(A, 'reliable', null, [B]);
  await deliver(B, 'reliable', null, [A]);
}

/** `gone` closes its page: every page of `stay` drops it (leave event, occupant and subscription gone). */
async function leaves(gone, stay) {
  await closePage(gone);
  for (const id of stay) {
    await until(`${id} drops ${gone}`, async () => {
      const o = await occupants(id);
      const disc = await ev(id, () => window.sfu.state.disconnected);
      return !o.available.includes(gone) && !o.subscribed.includes(gone) && disc.includes(gone);
    });
  }
}

// ---- A. open room ------------------------------------------------------------------------------------------------

const ROOM_A = 'mixed-open';
const A = ['c1', 'c2', 'f1'];

test('Firefox here has no H.264 at all (the Firefox of the default policy\'s mixed room)', async () => {
  const p = await openPage('f0');
  const caps = await p.evaluate(() => ({
    recv: RTCRtpReceiver.getCapabilities('video').codecs.map((c) => c.mimeType),
    send: RTCRtpSender.getCapabilities('video').codecs.map((c) => c.mimeType),
  }));
  await closePage('f0');
  assert.ok(!caps.recv.some((c) => /H264/i.test(c)), `Firefox receives H.264: ${caps.recv}`);
  assert.ok(!caps.send.some((c) => /H264/i.test(c)), `Firefox sends H.264: ${caps.send}`);
  assert.ok(caps.recv.some((c) => /VP8/i.test(c)), `no VP8: ${caps.recv}`);
});

test('A: two Chromium pages publish H.264, a Firefox page joins, all three see each other', { timeout: 4 * PHASE_MS }, async () => {
  for (const id of ['c1', 'c2']) {
    await openPage(id);
    await connectOk(id, ROOM_A);
  }
  await untilAllSubscribed(['c1', 'c2']);
  // Until a participant without H.264 comes, the room's video is H.264 (auto).
  const s = await until('c1 decodes c2 as H.264', async () => {
    const st = await stats('c1');
    return st.c2?.framesDecoded > 0 && st;
  });
  assert.ok(s.c2.codecs.some((c) => /H264/i.test(c)), `c1 decodes c2 as ${s.c2.codecs}`);
  await openPage('f1');
  await connectOk('f1', ROOM_A);
  await untilAllSubscribed(A);
  ready.a = true;
});

test('A: every page hears and sees every other, both ways: the Firefox without H.264 decodes the Chromium publishers', { timeout: 3 * PHASE_MS }, async (t) => {
  if (!ready.a) return t.skip('setup failed');
  await untilEveryoneDecodesEveryone(A);
  // The Chromium publishers were renegotiated by the plugin (the room switched to VP8).
  for (const id of ['c1', 'c2']) {
    const got = await ev(id, () => window.sfu.pluginEvents('video_codec').map((e) => e.data));
    assert.deepEqual(got, [{ event: 'video_codec', room_id: ROOM_A, video_codec: 'vp8' }], `${id}'s plugin events`);
  }
  assert.deepEqual(await ev('f1', () => window.sfu.pluginEvents('video_codec')), []);
});

test('A: messages cross between Chromium and Firefox on both data channels and through the WebSocket', { timeout: 3 * PHASE_MS }, async (t) => {
  if (!ready.a) return t.skip('setup failed');
  await messagesBothWays(A);
});

test('A: a Firefox page blocks a Chromium page: nothing flows between them; unblock restores it', { timeout: 4 * PHASE_MS }, async (t) => {
  if (!ready.a) return t.skip('setup failed');
  await blockAndUnblock('f1', 'c1', 'c2');
});

test('A: a Chromium page and then the Firefox page leave: the others drop them', { timeout: 3 * PHASE_MS }, async (t) => {
  if (!ready.a) return t.skip('setup failed');
  await leaves('c2', ['c1', 'f1']);
  const b0 = await bytesFrom('f1', 'c1');
  await until('f1 still decodes c1', async () => (await bytesFrom('f1', 'c1')).f > b0.f + 5);
  await leaves('f1', ['c1']);
  await closePage('c1');
});

// ---- B. private room with tokens ---------------------------------------------------------------------------------

const ROOM_B = 'mixed-private';
const B = ['c3', 'f3'];
const token = (id, room = ROOM_B) => joinToken(keys, [room], { user_id: id }, { ttl: 1800 });

test('B: a Chromium and a Firefox page with their own tokens join a private room; a Firefox page without one is refused', { timeout: 4 * PHASE_MS }, async () => {
  janus = authJanus;
  for (const id of B) {
    await openPage(id);
    await connectOk(id, ROOM_B, token(id));
  }
  await untilAllSubscribed(B);
  ready.b = true;
  await openPage('f4');
  for (const [what, tok, reason] of [['no token', undefined, 'missing_token'],
    ['a token for another room', token('f4', 'elsewhere'), 'room_not_allowed']]) {
    const r = await ev('f4', (o) => window.sfu.tryConnect(o), { serverUrl: janus.wsUrl, room: ROOM_B, clientId: 'f4', token: tok });
    assert.equal(r.ok, false, `${what}: connect succeeded`);
    assert.equal(r.error.reason, reason, `${what}: ${JSON.stringify(r.error)}`);
    await ev('f4', () => window.sfu.disconnect());
  }
  await sleep(1000);
  for (const id of B) {
    const seen = await ev(id, () => window.sfu.state.seenOccupants);
    assert.ok(!seen.includes('f4'), `${id} saw the refused page`);
  }
  await closePage('f4');
});

test('B: audio and decoded video both ways, messages on every transport both ways', { timeout: 4 * PHASE_MS }, async (t) => {
  if (!ready.b) return t.skip('setup failed');
  await untilEveryoneDecodesEveryone(B);
  await messagesBothWays(B);
});

test('B: the Chromium page blocks the Firefox page and unblocks it', { timeout: 4 * PHASE_MS }, async (t) => {
  if (!ready.b) return t.skip('setup failed');
  await blockAndUnblock('c3', 'f3', null);
});

test('B: the Firefox page leaves: the Chromium page drops it', { timeout: 2 * PHASE_MS }, async (t) => {
  if (!ready.b) return t.skip('setup failed');
  await leaves('f3', ['c3']);
});
