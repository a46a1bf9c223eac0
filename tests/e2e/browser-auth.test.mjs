// browser-auth.test.mjs - the browser scenario with join tokens (issues #3 and #4): headless Chromium pages with the
// UNMODIFIED naf-janus-adapter 4.0.1, each handed an RS512 token minted here (adapter.setJoinToken before connect),
// through a real Janus whose janus.plugin.sfu has an auth_key:
//   1. three pages with their own tokens see each other, get audio, video and data; pages without a valid token for
//      the room (other room, none, another user's, expired) are refused and never become occupants;
//   2. a listen-only seat (publish_media: false) sends no media to anyone but receives everybody's;
//   3. a short token without refresh: token_expiring, then ejected (token_expired), peers drop it;
//   4. the same lifetime with the docs/REFRESH.md code: stays in for more than three lifetimes, media flowing;
//   4b. the Hubs case, with Reticulum-shaped tokens: an app renewing on its own timer that forwards each token with
//      one refresh stays in for three lifetimes; one that only calls setJoinToken is ejected at expiry;
//   5. an owner (kick_users) kicks a page: ejected (kicked, by), peers drop it, its rejoin is refused (banned);
//   6. an owner (mute_users) mutes a page's audio: the others stop receiving its audio (getStats bytes stop
//      growing) while its video goes on, although the page keeps sending it (naf-janus-adapter knows nothing of
//      mutes: the hostile case; the plugin's muted-RTP counter grows); the mute holds when the page reconnects;
//      unmute brings its audio back.
// One browser, one page per participant, pages of a finished scenario are closed before the next one starts.
// Run inside the network namespace of scripts/test.sh, like browser.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startJanus } from './lib/janus.mjs';
import {
  CHROMIUM, PHASE_MS, ADAPTER, sleep, until as untilWith, pageDiagnostics, serveTestPage, launchBrowser, deliverer,
} from './lib/browser.mjs';
import { adminClient } from './lib/admin.mjs';
import { makeKeys, joinToken } from './lib/jwt.mjs';

/** Lifetime of the short tokens (scenarios 3 and 4) and the plugin's expiry_warning_s. */
const SHORT_TTL_S = Number(process.env.BROWSER_AUTH_SHORT_TTL_S ?? 10);
const WARNING_S = 4;
const LONG_TTL_S = 1800;
const ROOMS = {
  main: 'auth-main', listen: 'auth-listen', expiry: 'auth-expiry', kick: 'auth-kick', mute: 'auth-mute', other: 'auth-other',
};

let browser;
let janus;
let admin;
let keys;
let server;
let pageUrl;
let context;
const pages = {}; // id -> playwright page
const consoleLogs = {}; // id -> lines
const ready = {}; // scenario -> true once its pages are up

const nowS = () => Math.floor(Date.now() / 1000);

/** Polls fn until truthy (lib/browser.mjs), with this file's diagnostics on timeout. */
const until = (what, fn, timeoutMs = PHASE_MS, intervalMs = 500) =>
  untilWith(what, fn, { timeoutMs, intervalMs, diagnostics });

const diagnostics = () => pageDiagnostics(pages, consoleLogs, janus);

const ev = (id, fn, arg) => pages[id].evaluate(fn, arg);
const stats = (id) => ev(id, () => window.sfu.stats());
const occupants = (id) => ev(id, () => window.sfu.occupants());
const pluginEvents = (id, name) => ev(id, (n) => window.sfu.pluginEvents(n), name);

/** A new page with the test page loaded; `expose` = { name: fn } functions the page may call. */
async function openPage(id, expose = {}) {
  const p = await context.newPage();
  pages[id] = p;
  consoleLogs[id] = [];
  p.on('console', (m) => consoleLogs[id].push(`[${m.type()}] ${m.text()}`));
  p.on('pageerror', (e) => consoleLogs[id].push(`[pageerror] ${e.message}`));
  for (const [name, fn] of Object.entries(expose)) await p.exposeFunction(name, fn);
  await p.goto(pageUrl);
  return p;
}

async function closePage(id) {
  const p = pages[id];
  delete pages[id];
  if (p) await p.close().catch(() => {});
}

/** Closes every open page (the previous scenario's), so only one scenario's media runs at a time. */
async function closeAllPages() {
  for (const id of Object.keys(pages)) await closePage(id);
}

/** connect() of the page with a token (undefined: none set); resolves with { ok } or { ok: false, error }. */
const tryConnect = (id, room, token) =>
  ev(id, (o) => window.sfu.tryConnect(o), { serverUrl: janus.wsUrl, room, clientId: id, token });

async function connectOk(id, room, token) {
  const r = await tryConnect(id, room, token);
  assert.equal(r.ok, true, `${id} failed to connect: ${JSON.stringify(r.error)}\n${await diagnostics()}`);
}

/** Every page in `ids` subscribed to (and sees as available) every other. */
async function untilAllSubscribed(ids) {
  for (const id of ids) {
    const others = ids.filter((x) => x !== id);
    await until(`${id} subscribed to ${others}`, async () => {
      const o = await occupants(id);
      return others.every((x) => o.subscribed.includes(x) && o.available.includes(x)) && !o.subscribed.includes(id) && o;
    });
  }
}

/** `id` receives audio and video (frames decoded) from each of `from`. */
async function untilReceives(id, from, timeoutMs = PHASE_MS) {
  return until(`${id} receives audio+video from ${from}`, async () => {
    const st = await stats(id);
    return from.every((x) => st[x] && st[x].audioBytes > 0 && st[x].videoBytes > 0 && st[x].framesDecoded > 0) && st;
  }, timeoutMs);
}

async function bytesFrom(id, other) {
  const s = (await stats(id))[other];
  return s ? { a: s.audioBytes, v: s.videoBytes, f: s.framesDecoded, pc: s.pc } : null;
}

/** The bytes `id` receives from `other` grow (audio, video and frames) within timeoutMs. */
async function untilGrowing(id, other, timeoutMs = 15000) {
  const b0 = await bytesFrom(id, other);
  assert.ok(b0, `${id} is not subscribed to ${other}`);
  return until(`${id}'s audio+video from ${other} keeps growing`, async () => {
    const b = await bytesFrom(id, other);
    return b && b.a > b0.a && b.v > b0.v && b.f > b0.f && b;
  }, timeoutMs);
}

const deliver = deliverer(ev, until);

async function participants(room) {
  const r = await admin.messagePlugin({ request: 'list_participants', room_id: room });
  assert.equal(r.response?.success, true, JSON.stringify(r));
  return r.response.participants;
}
const participantIds = async (room) => (await participants(room)).map((p) => p.user_id).sort();

/** `gone` was dropped by `id`: leave event received, occupant and its subscriber PeerConnection removed. */
async function untilDropped(id, gone, room) {
  await until(`${id} drops ${gone}`, async () => {
    const o = await occupants(id);
    const disc = await ev(id, () => window.sfu.state.disconnected);
    const leaves = await pluginEvents(id, 'leave');
    return !o.available.includes(gone) && !o.subscribed.includes(gone) && disc.includes(gone)
      && leaves.some((e) => e.data.user_id === gone && e.data.room_id === room);
  });
}

/** No page in `ids` ever saw `stranger`: no join event, never an occupant. */
async function assertNeverSeen(ids, stranger) {
  for (const id of ids) {
    const joins = await pluginEvents(id, 'join');
    assert.ok(!joins.some((e) => e.data.user_id === stranger), `${id} got a join event for ${stranger}`);
    const seen = await ev(id, () => window.sfu.state.seenOccupants);
    assert.ok(!seen.includes(stranger), `${id}'s occupant listener reported ${stranger}`);
    const o = await occupants(id);
    assert.ok(!o.available.includes(stranger) && !o.subscribed.includes(stranger), `${id} has ${stranger}: ${JSON.stringify(o)}`);
  }
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing (apt-get install chromium)`);
  assert.ok(existsSync(ADAPTER), `${ADAPTER} missing (npm ci)`);
  keys = makeKeys();
  janus = await startJanus({
    pluginConfig: { auth_key: join(keys.dir, 'public.der'), expiry_warning_s: WARNING_S, kick_ban_s: 600, clock_leeway_s: 0 },
  });
  admin = adminClient(janus);
  server = await serveTestPage();
  pageUrl = `http://127.0.0.1:${server.address().port}/`;
  browser = await launchBrowser();
  context = browser.context;
});

after(async () => {
  for (const id of Object.keys(pages)) await closePage(id);
  await browser?.close();
  server?.close();
  await janus?.stop();
  if (keys) rmSync(keys.dir, { recursive: true, force: true });
});

// ---- 1. the foundation scenario with tokens -------------------------------------------------------------------

const MAIN = ['a1', 'a2', 'a3'];

test('1: three pages, each with its own token, join a private room and see each other', { timeout: 4 * PHASE_MS }, async (t) => {
  const t0 = Date.now();
  for (const id of MAIN) {
    await openPage(id);
    await connectOk(id, ROOMS.main, joinToken(keys, [ROOMS.main], { user_id: id }, { ttl: LONG_TTL_S }));
  }
  const t1 = Date.now();
  await untilAllSubscribed(MAIN);
  const t2 = Date.now();
  assert.deepEqual(await participantIds(ROOMS.main), MAIN);
  t.diagnostic(`connects took ${t1 - t0} ms, subscriptions ${t2 - t1} ms more, list_participants ${Date.now() - t2} ms`);
  ready.main = true;
});

test('1: every page receives the audio and video of the other two', { timeout: 2 * PHASE_MS }, async (t) => {
  if (!ready.main) return t.skip('setup failed');
  for (const id of MAIN) {
    const others = MAIN.filter((x) => x !== id);
    const s = await untilReceives(id, others);
    for (const x of others) assert.ok(s[x].codecs.some((c) => /H264/i.test(c)), `${id} decodes ${x} as H.264: ${s[x].codecs}`);
  }
});

test('1: messages arrive on both data channels and through the WebSocket', { timeout: 3 * PHASE_MS }, async (t) => {
  if (!ready.main) return t.skip('setup failed');
  for (const transport of ['reliable', 'unreliable', 'websocket']) {
    for (const from of MAIN) await deliver(from, transport, null, MAIN.filter((x) => x !== from));
  }
});

test('1: pages without a valid token for the room are refused and never become occupants', { timeout: 3 * PHASE_MS }, async (t) => {
  if (!ready.main) return t.skip('setup failed');
  const id = 'intruder';
  await openPage(id);
  const attempts = [
    { what: 'a token for another room', token: joinToken(keys, [ROOMS.other], { user_id: id }, { ttl: LONG_TTL_S }),
      msg: 'Rejecting join without permission!', reason: 'room_not_allowed' },
    { what: 'no token', token: undefined, msg: 'Rejecting anonymous join!', reason: 'missing_token' },
    { what: "a1's token (bound to user a1)", token: joinToken(keys, [ROOMS.main], { user_id: 'a1' }, { ttl: LONG_TTL_S }),
      msg: 'Rejecting join without permission!', reason: 'user_mismatch' },
    { what: 'an expired token', token: joinToken(keys, [ROOMS.main], { user_id: id }, { ttl: -5 }),
      msg: 'Rejecting join with invalid token!', reason: 'token_expired' },
  ];
  for (const a of attempts) {
    const r = await tryConnect(id, ROOMS.main, a.token);
    assert.equal(r.ok, false, `${a.what}: connect succeeded`);
    assert.equal(r.error.msg, a.msg, `${a.what}: ${JSON.stringify(r.error)}`);
    assert.equal(r.error.reason, a.reason, `${a.what}: ${JSON.stringify(r.error)}`);
    if (a.token) assert.ok(!JSON.stringify(r.error).includes(a.token.split('.')[2]), 'token echoed in the error');
    await ev(id, () => window.sfu.disconnect());
  }
  // Give any (wrong) join or leave notification time to arrive, then check nobody ever saw the intruder.
  await sleep(1500);
  await assertNeverSeen(MAIN, id);
  assert.deepEqual(await participantIds(ROOMS.main), MAIN);
  // a1 was not evicted by the join with its token under another name: the three still see each other.
  await untilAllSubscribed(MAIN);
  await untilGrowing('a2', 'a1');
});

// ---- 2. listen-only seat -----------------------------------------------------------------------------------------

const LISTEN = { quiet: 'l1', talkers: ['n1', 'n2'] };

test('2: a publish_media:false page sends no audio/video to anyone but receives everybody', { timeout: 4 * PHASE_MS }, async () => {
  await closeAllPages();
  const room = ROOMS.listen;
  const all = [LISTEN.quiet, ...LISTEN.talkers];
  for (const id of all) {
    await openPage(id);
    const extra = id === LISTEN.quiet ? { user_id: id, publish_media: false } : { user_id: id };
    await connectOk(id, room, joinToken(keys, [room], extra, { ttl: LONG_TTL_S }));
  }
  await untilAllSubscribed(all);
  const [n1, n2] = LISTEN.talkers;
  // The listen-only page gets the others' media; the talkers get each other's.
  await untilReceives(LISTEN.quiet, LISTEN.talkers);
  await untilReceives(n1, [n2]);
  await untilReceives(n2, [n1]);

  const snap = async () => ({
    n1q: await bytesFrom(n1, LISTEN.quiet), n2q: await bytesFrom(n2, LISTEN.quiet),
    n1n2: await bytesFrom(n1, n2), qn1: await bytesFrom(LISTEN.quiet, n1), qn2: await bytesFrom(LISTEN.quiet, n2),
  });
  const s0 = await snap();
  await sleep(8000);
  const s1 = await snap();
  for (const [k, s] of [['n1q', s1.n1q], ['n2q', s1.n2q]]) {
    assert.equal(s.pc, 'connected', `${k}: the subscriber PeerConnection to the listen-only page is up`);
    assert.equal(s.a, 0, `${k}: audio bytes from the listen-only page (${JSON.stringify(s0[k])} -> ${JSON.stringify(s)})`);
    assert.equal(s.v, 0, `${k}: video bytes from the listen-only page (${JSON.stringify(s0[k])} -> ${JSON.stringify(s)})`);
    assert.equal(s.f, 0, `${k}: frames decoded from the listen-only page`);
  }
  for (const k of ['n1n2', 'qn1', 'qn2']) {
    assert.ok(s1[k].a > s0[k].a && s1[k].v > s0[k].v && s1[k].f > s0[k].f,
      `${k}: media keeps flowing: ${JSON.stringify(s0[k])} -> ${JSON.stringify(s1[k])}`);
  }
  const info = await participants(room);
  assert.equal(info.find((p) => p.user_id === LISTEN.quiet)?.publish_media, false, JSON.stringify(info));
  assert.equal(info.find((p) => p.user_id === n1)?.publish_media, true, JSON.stringify(info));
  // publish_media:false does not silence its data channel (send_data defaults to true).
  await deliver(LISTEN.quiet, 'reliable', null, LISTEN.talkers);
});

// ---- 3 and 4. ejection at expiry, and refresh --------------------------------------------------------------------

const EXPIRY = { watcher: 'w', refresher: 'r', expiring: 'e' };
let refresherStart = 0; // ms: when the refresher's first short token was minted
let refresherFirstExp = 0;

test('3: a page with a short token and no refresh gets token_expiring, then ejected (token_expired); peers drop it', { timeout: 4 * PHASE_MS }, async (t) => {
  await closeAllPages();
  const room = ROOMS.expiry;
  const { watcher: W, refresher: R, expiring: E } = EXPIRY;
  await openPage(W);
  await openPage(R, {
    // The "backend" of docs/REFRESH.md: a new short token for the same room and user.
    sfuFetchToken: () => joinToken(keys, [room], { user_id: R }, { ttl: SHORT_TTL_S }),
  });
  await openPage(E);
  await connectOk(W, room, joinToken(keys, [room], { user_id: W }, { ttl: LONG_TTL_S }));
  refresherStart = Date.now();
  refresherFirstExp = nowS() + SHORT_TTL_S;
  await connectOk(R, room, joinToken(keys, [room], { user_id: R, exp: refresherFirstExp }));
  await ev(R, () => window.sfu.enableRefresh('sfuFetchToken'));
  const eExp = nowS() + SHORT_TTL_S;
  await connectOk(E, room, joinToken(keys, [room], { user_id: E, exp: eExp }));
  const connectedAt = Date.now();
  ready.expiry = true;

  // Before its expiry the short-token page is a full participant: its peers decode its media.
  const leftMs = () => eExp * 1000 - Date.now() - 500;
  await until(`${W} and ${R} subscribed to ${E} before its token expires`, async () =>
    (await occupants(W)).subscribed.includes(E) && (await occupants(R)).subscribed.includes(E), leftMs(), 200);
  await untilReceives(W, [E], leftMs());
  await untilReceives(R, [E], leftMs());
  t.diagnostic(`${E} connected ${eExp * 1000 - connectedAt} ms and was decoded by both peers ${eExp * 1000 - Date.now()} ms before exp`);

  const warning = await until(`${E} gets token_expiring`, async () => (await pluginEvents(E, 'token_expiring'))[0],
    SHORT_TTL_S * 1000 + 5000, 200);
  assert.equal(warning.data.room_id, room);
  assert.equal(warning.data.expires_at, eExp);
  assert.ok(warning.at >= (eExp - WARNING_S) * 1000 - 1000 && warning.at <= eExp * 1000,
    `token_expiring ${warning.at - eExp * 1000} ms from exp (expected about -${WARNING_S} s)`);

  const ejected = await until(`${E} gets ejected`, async () => (await pluginEvents(E, 'ejected'))[0], 10000, 200);
  const { by, ...rest } = ejected.data;
  assert.deepEqual(rest, { event: 'ejected', room_id: room, reason: 'token_expired' });
  // Nobody ejected it: the event has no "by" (docs/PROTOCOL.md).
  assert.equal(by, undefined, 'no kicker for an expiry');
  const late = ejected.at - eExp * 1000;
  assert.ok(late >= -100 && late < 3000, `ejected ${late} ms after exp (connected ${connectedAt - eExp * 1000} ms from exp)`);

  // Its peers get leave and close its subscriber PeerConnection; the plugin no longer lists it.
  for (const id of [W, R]) await untilDropped(id, E, room);
  assert.deepEqual(await participantIds(room), [R, W].sort());
  // Stop the ejected adapter from reconnecting (it would be refused: its token is expired).
  await ev(E, () => window.sfu.disconnect());
  // The two others still exchange media.
  await untilGrowing(W, R);
  await untilGrowing(R, W);
});

test('4: a page with the same lifetime that runs the docs/REFRESH.md code stays in for three lifetimes, media flowing', { timeout: 4 * PHASE_MS }, async (t) => {
  if (!ready.expiry) return t.skip('setup failed');
  const room = ROOMS.expiry;
  const { watcher: W, refresher: R } = EXPIRY;
  // Wait until three full lifetimes have passed since the refresher's first token was minted (and two since the
  // first one expired).
  const endAt = refresherStart + 3 * SHORT_TTL_S * 1000 + 2000;
  while (Date.now() < endAt) {
    await sleep(Math.min(2000, Math.max(0, endAt - Date.now())));
    const ej = await pluginEvents(R, 'ejected');
    assert.deepEqual(ej, [], `${R} was ejected\n${ej.length ? await diagnostics() : ''}`);
  }
  assert.ok(nowS() > refresherFirstExp + 2 * SHORT_TTL_S, 'three lifetimes passed');

  const warnings = await pluginEvents(R, 'token_expiring');
  const refreshes = await ev(R, () => window.sfu.state.refreshes);
  assert.ok(warnings.length >= 3, `${warnings.length} token_expiring events`);
  assert.ok(refreshes.length >= 3, `${refreshes.length} refreshes: ${JSON.stringify(refreshes)}`);
  assert.deepEqual(refreshes.filter((r) => !r.ok), [], 'every refresh accepted');
  const last = refreshes.at(-1);
  assert.ok(last.expires_at > nowS(), `the last refresh runs until ${last.expires_at}`);
  assert.ok(last.expires_at > refresherFirstExp + SHORT_TTL_S, 'the expiry moved forward');
  // Each warning announced the current expiry, which each refresh moved.
  const announced = warnings.map((w) => w.data.expires_at);
  assert.equal(announced[0], refresherFirstExp);
  for (let i = 1; i < announced.length; i++) assert.ok(announced[i] > announced[i - 1], `expiries ${announced}`);

  assert.deepEqual(await pluginEvents(R, 'ejected'), []);
  // The plugin's expiry for the user is the one the last refresh returned (or a newer one, if a refresh ran since).
  const info = await participants(room);
  const later = await ev(R, () => window.sfu.state.refreshes);
  const current = info.find((p) => p.user_id === R)?.expires_at;
  assert.ok(current >= last.expires_at && later.some((r) => r.expires_at === current),
    `list_participants expires_at ${current}, refreshes ${JSON.stringify(later)}`);
  // Still a full participant at the end: its watcher's bytes from it keep growing, and it still receives.
  assert.ok((await occupants(W)).subscribed.includes(R));
  await untilGrowing(W, R);
  await untilGrowing(R, W);
});

// ---- 4b. the Hubs case: an app that renews its token on its own schedule -------------------------------------------

// Reticulum's perms tokens (docs/real issuers): no user_id, no room_ids, the anonymous sub "_<hub>", boolean perms.
const hubsToken = (room, ttl) => joinToken(keys, null, {
  room_ids: undefined, aud: 'ret_perms', iss: 'ret', typ: 'access', jti: randomUUID(), iat: nowS(), nbf: nowS() - 1,
  sub: `_${room}`, account_id: '', hub_id: room, kick_users: false, mute_users: false, spawn_camera: true, fly: true,
}, { ttl });

test('4b: a Hubs-style app that forwards each renewed token with one refresh stays in for three lifetimes; one that only calls setJoinToken is ejected', { timeout: 5 * PHASE_MS }, async (t) => {
  await closeAllPages();
  const room = 'auth-hubs';
  const [W, H, N] = ['hw', 'hubs-forwards', 'hubs-silent'];
  const fetch = { sfuFetchToken: () => hubsToken(room, SHORT_TTL_S) };
  await openPage(W);
  await openPage(H, fetch);
  await openPage(N, fetch);
  await connectOk(W, room, hubsToken(room, LONG_TTL_S));
  const start = Date.now();
  const firstExp = nowS() + SHORT_TTL_S;
  await connectOk(H, room, hubsToken(room, SHORT_TTL_S));
  await connectOk(N, room, hubsToken(room, SHORT_TTL_S));
  // Hubs renews well before expiry on a timer of its own; here every half lifetime.
  const period = (SHORT_TTL_S * 1000) / 2;
  await ev(H, (p) => window.sfu.enableTimedRefresh(p, true), period);
  await ev(N, (p) => window.sfu.enableTimedRefresh(p, false), period);
  const ejected = await until(`${N} is ejected at its first token's expiry`,
    async () => (await pluginEvents(N, 'ejected'))[0], SHORT_TTL_S * 1000 + 8000, 200);
  assert.equal(ejected.data.reason, 'token_expired');
  assert.ok(ejected.at >= firstExp * 1000 - 200, `ejected ${ejected.at - firstExp * 1000} ms after exp`);
  await ev(N, () => window.sfu.disconnect());
  await untilDropped(W, N, room);
  const endAt = start + 3 * SHORT_TTL_S * 1000 + 2000;
  while (Date.now() < endAt) {
    await sleep(Math.min(2000, Math.max(0, endAt - Date.now())));
    assert.deepEqual(await pluginEvents(H, 'ejected'), [], `${H} was ejected`);
  }
  const refreshes = await ev(H, () => window.sfu.state.refreshes);
  assert.ok(refreshes.length >= 5, `${refreshes.length} refreshes`);
  assert.deepEqual(refreshes.filter((r) => !r.ok), [], 'every refresh accepted');
  assert.deepEqual((await participantIds(room)).sort(), [H, W].sort());
  await untilGrowing(W, H);
  await untilGrowing(H, W);
  t.diagnostic(`${H} stayed ${Math.round((Date.now() - start) / 1000)} s with ${SHORT_TTL_S} s tokens`);
  await ev(H, () => clearInterval(window.sfu.state.refreshTimer));
});

// ---- 5. owner kick -----------------------------------------------------------------------------------------------

const KICK = { owner: 'o', victim: 'v', peer: 'p' };

test('5: an owner kicks a page: ejected (kicked, by owner), dropped by the others, its rejoin refused (banned)', { timeout: 4 * PHASE_MS }, async () => {
  await closeAllPages();
  const room = ROOMS.kick;
  const { owner: O, victim: V, peer: P } = KICK;
  const ownerToken = joinToken(keys, [room], { user_id: O, kick_users: true }, { ttl: LONG_TTL_S });
  const peerToken = joinToken(keys, [room], { user_id: P }, { ttl: LONG_TTL_S });
  for (const [id, token] of [[O, ownerToken], [V, joinToken(keys, [room], { user_id: V }, { ttl: LONG_TTL_S })], [P, peerToken]]) {
    await openPage(id);
    await connectOk(id, room, token);
  }
  const all = [O, V, P];
  await untilAllSubscribed(all);
  await untilReceives(P, [O, V]);
  await untilReceives(O, [V, P]);

  // A page without kick_users cannot kick.
  const refused = await ev(P, (a) => window.sfu.request({ kind: 'kick', room_id: a.room, user_id: a.user, token: a.token }),
    { room, user: O, token: peerToken });
  assert.equal(refused.success, false, JSON.stringify(refused));
  assert.equal(refused.error.msg, 'Rejecting kick without permission!');
  assert.equal(refused.error.reason, 'kick_not_allowed');

  await ev(O, (a) => window.sfu.kick(a.user, a.token), { user: V, token: ownerToken });
  assert.ok((await ev(O, () => window.sfu.state.domEvents)).some((e) => e.type === 'kicked' && e.clientId === V),
    'the adapter dispatched its kicked DOM event');
  const ejected = await until(`${V} gets ejected`, async () => (await pluginEvents(V, 'ejected'))[0], 10000, 200);
  assert.deepEqual({ ...ejected.data }, { event: 'ejected', room_id: room, reason: 'kicked', by: O });
  for (const id of [O, P]) await untilDropped(id, V, room);
  assert.deepEqual(await participantIds(room), [O, P].sort());
  await untilGrowing(P, O);

  // The kicked page comes back with a fresh, valid token: refused.
  await ev(V, () => window.sfu.disconnect());
  const kickedAt = Date.now();
  const again = await tryConnect(V, room, joinToken(keys, [room], { user_id: V }, { ttl: LONG_TTL_S }));
  assert.equal(again.ok, false, 'rejoin after the kick succeeded');
  assert.equal(again.error.msg, 'Rejecting join of a kicked user!', JSON.stringify(again.error));
  assert.equal(again.error.reason, 'banned', JSON.stringify(again.error));
  await ev(V, () => window.sfu.disconnect());
  await sleep(1500);
  for (const id of [O, P]) {
    const joins = await pluginEvents(id, 'join');
    assert.ok(!joins.some((e) => e.data.user_id === V && e.at >= kickedAt), `${id} saw ${V} join again`);
    const o = await occupants(id);
    assert.ok(!o.available.includes(V) && !o.subscribed.includes(V), `${id} has ${V} again: ${JSON.stringify(o)}`);
  }
  assert.deepEqual(await participantIds(room), [O, P].sort());
  const bans = await admin.messagePlugin({ request: 'list_bans', room_id: room });
  assert.deepEqual(bans.response.bans.map((b) => [b.user_id, b.by]), [[V, O]]);
});

// ---- 6. owner mute, enforced by the relay ----------------------------------------------------------------------

const MUTE = { owner: 'm-owner', loud: 'm-loud', peer: 'm-peer' };

const mutedRtp = async () =>
  (await admin.messagePlugin({ request: 'stats' })).response.stats.relay.muted_rtp_packets;

test("6: an owner mutes a page's audio: it stops reaching the others while the page keeps sending; held across a reconnect; unmute restores it", { timeout: 5 * PHASE_MS }, async () => {
  await closeAllPages();
  const room = ROOMS.mute;
  const { owner: O, loud: L, peer: P } = MUTE;
  const ownerToken = joinToken(keys, [room], { user_id: O, mute_users: true }, { ttl: LONG_TTL_S });
  const loudToken = joinToken(keys, [room], { user_id: L }, { ttl: LONG_TTL_S });
  const peerToken = joinToken(keys, [room], { user_id: P }, { ttl: LONG_TTL_S });
  for (const [id, token] of [[O, ownerToken], [L, loudToken], [P, peerToken]]) {
    await openPage(id);
    await connectOk(id, room, token);
  }
  await untilAllSubscribed([O, L, P]);
  await untilReceives(P, [O, L]);
  await untilReceives(O, [L, P]);

  // Without mute_users: refused.
  const refused = await ev(P, (a) => window.sfu.request({ kind: 'mute', room_id: a.room, user_id: a.user, token: a.token }),
    { room, user: L, token: peerToken });
  assert.equal(refused.success, false, JSON.stringify(refused));
  assert.equal(refused.error.msg, 'Rejecting mute without permission!');
  assert.equal(refused.error.reason, 'mute_not_allowed');

  const r = await ev(O, (a) => window.sfu.request({ kind: 'mute', room_id: a.room, user_id: a.user, token: a.token, media: 'audio' }),
    { room, user: L, token: ownerToken });
  assert.equal(r.success, true, JSON.stringify(r));
  assert.deepEqual(r.response.muted, ['audio']);
  for (const id of [L, P]) {
    const m = await until(`${id} gets the muted event`, async () => (await pluginEvents(id, 'muted'))[0], 10000, 200);
    assert.deepEqual({ ...m.data }, { event: 'muted', room_id: room, user_id: L, media: 'audio', muted: ['audio'], by: O });
  }
  assert.deepEqual((await participants(room)).find((p) => p.user_id === L).muted, ['audio']);

  // In-flight packets drain; then L's audio no longer reaches anyone, though L keeps sending it (and video flows).
  await sleep(1500);
  const sent0 = await ev(L, () => window.sfu.publisherStats());
  const at0 = { p: await bytesFrom(P, L), o: await bytesFrom(O, L), dropped: await mutedRtp() };
  await sleep(4000);
  const sent1 = await ev(L, () => window.sfu.publisherStats());
  const at1 = { p: await bytesFrom(P, L), o: await bytesFrom(O, L), dropped: await mutedRtp() };
  assert.ok(sent1.audioBytesSent > sent0.audioBytesSent + 1000, `${L} keeps sending audio: ${JSON.stringify([sent0, sent1])}`);
  for (const who of ['p', 'o']) {
    assert.equal(at1[who].a, at0[who].a, `${who === 'p' ? P : O} still receives ${L}'s audio`);
    assert.ok(at1[who].v > at0[who].v && at1[who].f > at0[who].f, `${L}'s video must keep flowing`);
  }
  assert.ok(at1.dropped > at0.dropped + 50, `the relay drops L's audio: muted_rtp_packets ${at0.dropped} -> ${at1.dropped}`);
  // O and P themselves are not muted.
  await untilGrowing(L, P);

  // L reconnects (new session, new handles): muted from its join on; its video comes back to P, its audio does not.
  await ev(L, () => window.sfu.disconnect());
  await untilDropped(P, L, room);
  await connectOk(L, room, loudToken);
  await until(`${P} receives ${L}'s video again`, async () => {
    const b = await bytesFrom(P, L);
    return b && b.v > 0 && b.f > 0 && b;
  });
  const re0 = await bytesFrom(P, L);
  await sleep(3000);
  const re1 = await bytesFrom(P, L);
  assert.equal(re1.a, re0.a, `${P} receives ${L}'s audio after its reconnect: ${JSON.stringify([re0, re1])}`);
  assert.ok(re1.v > re0.v, `${L}'s video flows after its reconnect`);
  assert.deepEqual((await participants(room)).find((p) => p.user_id === L).muted, ['audio']);

  // Unmute: audio flows again.
  const u = await ev(O, (a) => window.sfu.request({ kind: 'unmute', room_id: a.room, user_id: a.user, token: a.token, media: 'audio' }),
    { room, user: L, token: ownerToken });
  assert.equal(u.success, true, JSON.stringify(u));
  assert.deepEqual(u.response.muted, []);
  await until(`${L} gets the unmuted event`, async () => (await pluginEvents(L, 'unmuted'))[0], 10000, 200);
  await until(`${P} receives ${L}'s audio again`, async () => (await bytesFrom(P, L)).a > re1.a, 15000);
  await untilGrowing(P, L);
});
