// check-demo.mjs - drives the demo page (demo/index.html + app.js, the unmodified naf-janus-adapter) in three
// headless Chromium tabs against the demo of scripts/demo.sh, and checks what the issue promises:
//
//   - each tab gets a token; the first tab is the owner (says so, has Kick buttons), the others are not;
//   - the tabs see and hear each other (getStats: audio bytes and energy, video frames decoded);
//   - a chat message typed in one tab appears in the others (data channel and WebSocket);
//   - tokens are refreshed in-band before they expire and the tabs stay in past their first token's expiry,
//     while a tab that does not refresh (?refresh=0) is ejected and says "token expired";
//   - the owner kicks a tab: that tab says who kicked it, disappears from the owner's view, cannot rejoin;
//   - a tab without a valid token (none, garbage, foreign key, other room, expired) cannot join;
//   - the token endpoint refuses a tab that claims another tab's identity.
//
//   node demo/check-demo.mjs
//
// If nothing answers on DEMO_URL (http://localhost:8080/), it starts ./scripts/demo.sh itself with
// DEMO_TOKEN_TTL=30 (so refreshes and an expiry happen within the check), and stops it (SIGTERM) at the end,
// checking that no Janus is left behind. Against an already running demo with a long token lifetime, the
// refresh and expiry checks are skipped. Env: DEMO_URL, DEMO_TOKEN_TTL (30), CHROMIUM (/usr/bin/chromium),
// CHECK_SCREENSHOT (a PNG of the owner's tab, /tmp/janus-sfu-demo-owner.png; another one at the end: -end).
// Exit status 0 when every check passed. Prints no token.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as tcpConnect } from 'node:net';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(here, '..');
const URL0 = process.env.DEMO_URL ?? 'http://localhost:8080/';
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TTL = process.env.DEMO_TOKEN_TTL ?? '30';
const SHOT = process.env.CHECK_SCREENSHOT ?? '/tmp/janus-sfu-demo-owner.png';
const PHASE_MS = 60000;
const TOKEN_BIN = join(top, 'tools', 'sfu-token');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
let passes = 0;
function ok(cond, what, extra = '') {
  if (cond) passes++; else failures++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}${extra ? ` (${extra})` : ''}`);
  return cond;
}

async function until(what, fn, timeoutMs = PHASE_MS, intervalMs = 500) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms: ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await sleep(intervalMs);
  }
}

async function up(url) {
  try {
    const r = await fetch(new URL('/config.json', url));
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

function portOpen(port) {
  return new Promise((res) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

// Janus processes started by the demo (their command line names .run/demo/janus.jcfg). Read-only.
function demoJanusPids() {
  const pids = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (/(^|\/)janus$/.test(cmd[0]) && cmd.some((a) => a.endsWith('.run/demo/janus.jcfg'))) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

/* ---- The demo ------------------------------------------------------------------------------------------ */
let demo = null; // the demo.sh we started, if any
const work = mkdtempSync(join(tmpdir(), 'janus-sfu-check-demo-'));
let config = await up(URL0);
if (!config) {
  console.log(`# no demo on ${URL0}: starting ./scripts/demo.sh with DEMO_TOKEN_TTL=${TTL} (output: ${work}/demo.out)`);
  const out = openSync(join(work, 'demo.out'), 'w');
  demo = spawn(join(top, 'scripts', 'demo.sh'), [], {
    cwd: top, stdio: ['ignore', out, out], env: { ...process.env, DEMO_TOKEN_TTL: TTL },
  });
  demo.exitCode_ = null;
  demo.on('exit', (code, sig) => { demo.exitCode_ = code ?? sig; });
  config = await until('the demo answers /config.json', async () => {
    if (demo.exitCode_ !== null) throw new Error(`demo.sh exited (${demo.exitCode_}): ${readFileSync(join(work, 'demo.out'), 'utf8').slice(-2000)}`);
    return up(URL0);
  }, 600000, 500).catch((e) => { console.log(`not ok - the demo starts: ${e.message}`); process.exit(1); });
}
console.log(`# demo: room "${config.room}", tokens ${config.auth ? `on (${config.ttl} s)` : 'OFF'}`);
ok(config.auth === true, 'the demo runs with tokens (the room is private)');

/* ---- The browser ---------------------------------------------------------------------------------------- */
const { chromium } = await import('playwright-core');
const context = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1100, height: 760 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
});
const consoleLines = {};
async function openTab(label, query) {
  const page = await context.newPage();
  consoleLines[label] = [];
  page.on('console', (m) => consoleLines[label].push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines[label].push(`[pageerror] ${e.message}`));
  await page.goto(new URL(query, URL0).href);
  await page.waitForFunction(() => document.getElementById('room').textContent !== '…');
  return page;
}
const text = (page, sel) => page.$eval(sel, (e) => e.textContent).catch(() => '');
const logLines = (page) => page.$$eval('#log div', (ds) => ds.map((d) => d.textContent)).catch(() => []);
const logText = async (page) => (await logLines(page)).join('\n');
const me = (page) => page.evaluate(() => window.demo.me);
const hasVideo = (page, id) => page.$(`#v-${id}`).then(Boolean);

async function joinTab(page) {
  await page.click('#join');
  await until('the tab joins', () => page.evaluate(() => window.demo.joined && !document.getElementById('leave').disabled));
  return me(page);
}

async function diagnostics(pages) {
  for (const [label, p] of Object.entries(pages)) {
    console.log(`# --- tab ${label}: status "${await text(p, '#status')}", banner "${await text(p, '#banner')}"`);
    for (const l of (await logLines(p)).slice(-12)) console.log(`#   ${l}`);
    for (const l of (consoleLines[label] ?? []).slice(-8)) console.log(`#   console ${l}`);
  }
}

const pages = {};
let exitCode = 0;
try {
  // Three tabs; alice joins first and is the owner. carol never refreshes her token.
  pages.alice = await openTab('alice', '/?name=alice');
  pages.bob = await openTab('bob', '/?name=bob');
  pages.carol = await openTab('carol', '/?name=carol&refresh=0');
  const A = await joinTab(pages.alice);
  const B = await joinTab(pages.bob);
  const C = await joinTab(pages.carol);
  const joinedAt = Date.now();
  const id = { alice: A.user, bob: B.user, carol: C.user };
  console.log(`# client ids: alice ${A.user}, bob ${B.user}, carol ${C.user}`);

  ok(A.owner && !B.owner && !C.owner, 'the first tab is the owner, the others are not');
  ok(/you are the owner/i.test(await text(pages.alice, '#role')), 'the owner tab says "you are the owner"',
    await text(pages.alice, '#role'));
  ok(!/owner/i.test(await text(pages.bob, '#role')), 'a guest tab does not claim to be the owner', await text(pages.bob, '#role'));

  // Everyone sees everyone.
  const names = Object.keys(id);
  for (const n of names) {
    for (const m of names) {
      if (n === m) continue;
      const seen = await until(`${n} shows ${m}'s video`, () => hasVideo(pages[n], id[m])).catch((e) => e);
      ok(seen === true, `${n} shows ${m}'s video`, seen === true ? '' : seen.message);
    }
  }
  const kickButtons = async (p) => p.$$eval('button.kick', (bs) => bs.length);
  ok(await until('the owner has 2 Kick buttons', async () => (await kickButtons(pages.alice)) === 2).catch(() => false),
    'the owner has a Kick button under each of the other two videos');
  ok((await kickButtons(pages.bob)) === 0 && (await kickButtons(pages.carol)) === 0, 'guests have no Kick buttons');

  // Chat: over the data channel and over the WebSocket.
  await pages.alice.fill('#text', 'hello from alice');
  await pages.alice.click('#sendbtn');
  await pages.bob.check('#viaws');
  await pages.bob.fill('#text', 'bob over the websocket');
  await pages.bob.click('#sendbtn');
  for (const [to, msg] of [['bob', 'alice: hello from alice'], ['carol', 'alice: hello from alice'],
    ['alice', 'bob: bob over the websocket'], ['carol', 'bob: bob over the websocket']]) {
    const got = await until(`${to} shows "${msg}"`, async () => (await logText(pages[to])).includes(msg), 15000).then(() => true, () => false);
    ok(got, `${to}'s page shows the message "${msg}"`);
  }

  // Media flows: audio bytes and energy, decoded video frames, for every pair.
  for (const n of names) {
    let last = null;
    const good = await until(`${n} receives audio and video`, async () => {
      last = await pages[n].evaluate(() => window.demo.stats());
      return names.filter((m) => m !== n).every((m) => {
        const s = last[id[m]];
        return s && s.audioBytes > 0 && s.audioEnergy > 0 && s.framesDecoded > 0;
      });
    }).then(() => true, () => false);
    ok(good, `${n} hears and sees the other two (audio bytes, audio energy, video frames decoded)`,
      names.filter((m) => m !== n).map((m) => `${m}: ${JSON.stringify(last?.[id[m]])}`).join('; '));
  }

  await pages.alice.screenshot({ path: SHOT });
  console.log(`# screenshot of the owner's tab: ${SHOT}`);

  // Token refresh and expiry (only with a short token lifetime).
  if (config.ttl <= 45) {
    const past = joinedAt + (config.ttl + 4) * 1000;
    console.log(`# waiting ${Math.round((past - Date.now()) / 1000)} s for the first tokens to expire`);
    await sleep(Math.max(0, past - Date.now()));
    const framesBefore = (await pages.alice.evaluate(() => window.demo.stats()))[id.bob]?.framesDecoded ?? 0;
    for (const n of ['alice', 'bob']) {
      const st = await pages[n].evaluate(() => ({ r: window.demo.refreshes, joined: window.demo.joined, exp: window.demo.expiresAt }));
      ok(st.r >= 1 && st.joined && st.exp * 1000 > Date.now(),
        `${n} refreshed its token in-band and is still in the room ${config.ttl + 4} s after joining`,
        `refreshes ${st.r}, token valid for ${Math.round(st.exp - Date.now() / 1000)} s more`);
      ok(/token_expiring/.test(await logText(pages[n])) && /token refreshed/.test(await logText(pages[n])),
        `${n}'s page shows token_expiring and the refresh`);
    }
    const carolOut = await until('carol shows that her token expired', async () =>
      /token expired/i.test(await text(pages.carol, '#banner')), 15000).then(() => true, () => false);
    ok(carolOut, 'the tab that does not refresh is ejected and says "your token expired"', await text(pages.carol, '#banner'));
    for (const n of ['alice', 'bob']) {
      const gone = await until(`${n} no longer shows carol`, async () => !(await hasVideo(pages[n], id.carol)), 15000).then(() => true, () => false);
      ok(gone, `carol's video is gone from ${n}'s view`);
    }
    await sleep(2000);
    const framesAfter = (await pages.alice.evaluate(() => window.demo.stats()))[id.bob]?.framesDecoded ?? 0;
    ok(await hasVideo(pages.alice, id.bob) && framesAfter > framesBefore,
      'alice still sees bob after the refresh (video frames keep coming)', `${framesBefore} -> ${framesAfter}`);
  } else {
    console.log(`# skipped: the refresh and expiry checks (token lifetime ${config.ttl} s; run the demo with DEMO_TOKEN_TTL=30)`);
  }

  // The owner kicks bob.
  await pages.alice.click(`#v-${id.bob} button.kick`);
  const kicked = await until('bob shows that he was kicked', async () =>
    /kicked by alice/i.test(await text(pages.bob, '#banner')), 15000).then(() => true, () => false);
  ok(kicked, 'the kicked tab says who kicked it', await text(pages.bob, '#banner'));
  const goneFromOwner = await until('bob disappears from alice', async () => !(await hasVideo(pages.alice, id.bob)), 15000)
    .then(() => true, () => false);
  ok(goneFromOwner, "the kicked tab disappears from the owner's view");
  ok((await logText(pages.alice)).includes('you kicked bob'), "the owner's log says \"you kicked bob\"");
  if (config.ttl > 45) {
    ok(await until('carol no longer shows bob', async () => !(await hasVideo(pages.carol, id.bob)), 15000).then(() => true, () => false),
      "the kicked tab disappears from the other guest's view");
  }
  ok(!(await pages.bob.evaluate(() => window.demo.joined)) && (await pages.bob.$$('#videos figure')).length === 0,
    'the kicked tab left the room (no videos, adapter disconnected)');
  await pages.bob.click('#join');
  const banned = await until('bob cannot rejoin', async () => /kicked user/i.test(await text(pages.bob, '#banner')), 30000)
    .then(() => true, () => false);
  ok(banned, 'the kicked tab cannot rejoin (the ban sticks)', await text(pages.bob, '#banner'));

  // Joining without a valid token: straight with the adapter, from a fresh page of the demo.
  const foreign = join(work, 'foreign-keys');
  execFileSync(TOKEN_BIN, ['keygen', '--out', foreign], { stdio: 'ignore' });
  const demoKey = join(top, '.run', 'demo-keys', 'private.pem');
  const mint = (key, ...args) => execFileSync(TOKEN_BIN, ['mint', '--key', key, ...args]).toString().trim();
  const intruder = '4242424242';
  const badTokens = {
    'no token': undefined,
    'a garbage token': 'not.a.token',
    'a token signed by another key': mint(join(foreign, 'private.pem'), '--room', config.room, '--user', intruder, '--join'),
    'a token for another room': mint(demoKey, '--room', 'elsewhere', '--user', intruder, '--join'),
    'an expired token': mint(demoKey, '--room', config.room, '--user', intruder, '--join', '--ttl', '60',
      '--now', String(Math.floor(Date.now() / 1000) - 3600)),
    'a token without join rights': mint(demoKey, '--room', config.room, '--user', intruder),
  };
  pages.intruder = await openTab('intruder', '/?name=intruder');
  for (const [what, tok] of Object.entries(badTokens)) {
    const r = await pages.intruder.evaluate(async ({ tok, url, room, user }) => {
      const a = new window.JanusAdapter();
      a.setServerUrl(url);
      a.setRoom(room);
      a.setClientId(user);
      a.setPeerConnectionConfig({ iceServers: [] });
      if (tok !== undefined) a.setJoinToken(tok);
      a.setServerConnectListeners(() => {}, () => {});
      a.setRoomOccupantListener(() => {});
      a.setDataChannelListeners(() => {}, () => {}, () => {});
      try {
        await Promise.race([a.connect(), new Promise((_, rej) => setTimeout(() => rej(new Error('no answer in 20 s')), 20000))]);
        return { joined: true };
      } catch (e) {
        return { joined: false, msg: e.msg || e.message, reason: e.reason };
      } finally {
        a.disconnect();
      }
    }, { tok, url: config.janusWsUrl, room: config.room, user: intruder });
    ok(!r.joined && /^Rejecting/.test(r.msg ?? ''), `a tab with ${what} cannot join`, `${r.msg} ${r.reason ?? ''}`.trim());
  }
  ok(!(await hasVideo(pages.alice, intruder)), "no intruder shows up in the owner's view");

  // The token endpoint does not hand out another tab's identity.
  const r403 = await fetch(new URL(`/token?user=${id.alice}&key=guess`, URL0));
  ok(r403.status === 403, "/token refuses a fresh token for another tab's id without its key", `HTTP ${r403.status}`);

  const endShot = SHOT.replace(/\.png$/, '-end.png');
  await pages.alice.screenshot({ path: endShot });
  console.log(`# screenshot of the owner's tab at the end: ${endShot}`);
} catch (e) {
  failures++;
  console.log(`not ok - ${e.message}`);
}
if (failures) await diagnostics(pages).catch(() => {});
await context.close().catch(() => {});

if (demo) {
  console.log('# stopping the demo (SIGTERM to demo.sh)');
  demo.kill('SIGTERM');
  const stopped = await until('demo.sh exits', () => demo.exitCode_ !== null, 15000).then(() => true, () => false);
  ok(stopped, 'demo.sh exits on SIGTERM', String(demo.exitCode_));
  await sleep(300);
  const left = demoJanusPids();
  ok(left.length === 0, 'no demo Janus is left behind', left.join(' '));
  const ports = [];
  for (const p of [8188, 8088, 8080]) if (await portOpen(p)) ports.push(p);
  ok(ports.length === 0, 'ports 8188, 8088 and 8080 are free again', ports.join(' '));
}
rmSync(work, { recursive: true, force: true });
console.log(`# ${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : exitCode);
