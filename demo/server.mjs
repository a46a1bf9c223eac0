// server.mjs - the demo's web server (Node http, no framework): the page, the unmodified naf-janus-adapter
// bundle, the page's settings, and join tokens for the private demo room.
//
//   node demo/server.mjs            (scripts/demo.sh starts it; env below)
//
// Env: DEMO_PORT (8080), DEMO_HOST (127.0.0.1; also ::1 when that works), JANUS_WS_URL (ws://127.0.0.1:8188/),
// DEMO_ROOM (demo), SFU_AUTH (1: tokens, the default; 0: the plugin runs open and no tokens are minted),
// SFU_KEY (the signing key, .run/demo-keys/private.pem), SFU_TOKEN_BIN (tools/sfu-token), DEMO_TOKEN_TTL
// (lifetime of each token in seconds, 120), SFU_KID (the key's kid, put in each token's header when the plugin
// reads a JWKS: auth_keys), TURN_URLS (comma-separated turn: URLs; unset: no TURN), TURN_SECRET_FILE
// (a file holding coturn's static-auth-secret), TURN_TTL (lifetime of TURN credentials in seconds, 86400).
//
// TURN (docs/DEPLOYMENT.md): with TURN_URLS and TURN_SECRET_FILE set, every /token answer also carries `iceServers`
// with credentials of coturn's TURN REST API (use-auth-secret): username "<expiry>:<user>", credential
// base64(HMAC-SHA1(secret, username)). The page passes them to setPeerConnectionConfig.
//
// Tokens: GET /token gives a new tab its identity (a numeric client id, as naf-janus-adapter uses, and a
// secret tab key) and a join token for the demo room bound to that id. GET /token?user=<id>&key=<tab key>
// gives that tab a fresh token (the page refreshes in-band before its token expires, docs/REFRESH.md).
// The first tab to ask is the room's owner: its tokens also carry kick_users. The owner role is free again
// once the owner's last token has expired (its tab closed or left). Tokens are never logged.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(here, '..');
const port = Number(process.env.DEMO_PORT ?? 8080);
const host = process.env.DEMO_HOST ?? '127.0.0.1';
const janusWsUrl = process.env.JANUS_WS_URL ?? 'ws://127.0.0.1:8188/';
const room = process.env.DEMO_ROOM ?? 'demo';
const tokenBin = process.env.SFU_TOKEN_BIN ?? join(top, 'tools', 'sfu-token');
const signingKey = process.env.SFU_KEY ?? join(top, '.run', 'demo-keys', 'private.pem');
const tokenTtl = Number(process.env.DEMO_TOKEN_TTL ?? 120);
const signingKid = process.env.SFU_KID || null;
const authEnabled = process.env.SFU_AUTH !== '0';
const turnUrls = (process.env.TURN_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean);
const turnTtl = Number(process.env.TURN_TTL ?? 86400);
let turnSecret = null;
if (turnUrls.length > 0) {
  try {
    turnSecret = readFileSync(process.env.TURN_SECRET_FILE ?? '', 'utf8').trim();
  } catch {
    turnSecret = '';
  }
  if (!turnSecret || !turnUrls.every((u) => /^turns?:/.test(u)) || !Number.isInteger(turnTtl) || turnTtl < 60) {
    console.error('demo: TURN_URLS needs turn:/turns: URLs, a readable non-empty TURN_SECRET_FILE and TURN_TTL >= 60');
    process.exit(2);
  }
}

/** coturn's TURN REST API credentials (use-auth-secret) for `user`, valid turnTtl seconds; null without TURN. */
function turnServers(user) {
  if (turnSecret === null) return null;
  const username = `${Math.floor(Date.now() / 1000) + turnTtl}:${user}`;
  const credential = createHmac('sha1', turnSecret).update(username).digest('base64');
  return [{ urls: turnUrls, username, credential }];
}

if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(room)) {
  console.error(`demo: bad DEMO_ROOM ${JSON.stringify(room)}`);
  process.exit(2);
}
if (!Number.isInteger(tokenTtl) || tokenTtl < 10 || tokenTtl > 86400) {
  console.error('demo: DEMO_TOKEN_TTL must be a whole number of seconds between 10 and 86400');
  process.exit(2);
}
if (authEnabled && (!existsSync(signingKey) || !existsSync(tokenBin))) {
  // Never fall back to an open room silently: the plugin is configured with the public key and would refuse
  // every join anyway.
  console.error(`demo: tokens are on but ${existsSync(tokenBin) ? signingKey : tokenBin} is missing ` +
    '(scripts/demo.sh makes the keys; SFU_AUTH=0 runs the demo open)');
  process.exit(2);
}

const files = {
  '/': ['text/html; charset=utf-8', join(here, 'index.html')],
  '/index.html': ['text/html; charset=utf-8', join(here, 'index.html')],
  '/app.js': ['text/javascript; charset=utf-8', join(here, 'app.js')],
  '/naf-janus-adapter.js': ['text/javascript; charset=utf-8',
    join(top, 'node_modules', 'naf-janus-adapter', 'dist', 'naf-janus-adapter.js')],
};

/* ---- Tabs and tokens -----------------------------------------------------------------------------------
 * A real application decides here, from its own login, who may join which room and who may kick. The demo
 * trusts whoever can load the page (it listens on loopback only) and hands out one identity per tab.
 * ------------------------------------------------------------------------------------------------------ */
const MAX_TABS = 500;
const tabs = new Map(); // client id -> { key, owner, exp (unix s of its newest token) }
let ownerId = null;

const nowS = () => Math.floor(Date.now() / 1000);

function sweep() {
  const now = nowS();
  for (const [id, t] of tabs) {
    if (t.exp + 60 < now) tabs.delete(id); // its token expired a minute ago: the tab is gone
  }
  if (ownerId !== null && !(tabs.has(ownerId) && tabs.get(ownerId).exp >= now)) {
    console.log(`demo: owner tab ${ownerId} is gone; the next new tab becomes the owner`);
    ownerId = null;
  }
}

function newTab() {
  let id;
  do id = String(randomInt(1, 0xffffffff)); while (tabs.has(id));
  const tab = { key: randomBytes(18).toString('base64url'), owner: false, exp: nowS() + tokenTtl };
  if (authEnabled && ownerId === null) {
    tab.owner = true;
    ownerId = id;
  }
  tabs.set(id, tab);
  return [id, tab];
}

function sameKey(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  return x.length === y.length && timingSafeEqual(x, y);
}

function mintToken(user, owner) {
  const args = ['mint', '--key', signingKey, '--room', room, '--user', user, '--join', '--ttl', String(tokenTtl)];
  if (owner) args.push('--kick');
  if (signingKid) args.push('--kid', signingKid);
  return new Promise((res, rej) => {
    execFile(tokenBin, args, { timeout: 5000 }, (err, stdout) => {
      if (err) rej(new Error(`sfu-token exited with ${err.code ?? err.signal}`)); // never err.message: it has argv
      else res(stdout.trim());
    });
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
const sendJson = (res, status, obj) => send(res, status, 'application/json', JSON.stringify(obj));

async function handleToken(req, res, url) {
  sweep();
  const user = url.searchParams.get('user');
  let id;
  let tab;
  if (user === null) {
    if (tabs.size >= MAX_TABS) return sendJson(res, 503, { error: 'too many tabs' });
    [id, tab] = newTab();
    console.log(`demo: new tab ${id}${tab.owner ? ' (owner: may kick)' : ''}`);
  } else {
    tab = tabs.get(user);
    if (!tab || !sameKey(tab.key, url.searchParams.get('key') ?? '')) {
      return sendJson(res, 403, { error: 'unknown tab or wrong key (reload the page)' });
    }
    id = user;
  }
  if (!authEnabled) {
    return sendJson(res, 200, { user: id, key: tab.key, owner: false, room, token: null, iceServers: turnServers(id) });
  }
  try {
    const token = await mintToken(id, tab.owner);
    const exp = nowS() + tokenTtl;
    tab.exp = exp;
    if (user !== null) console.log(`demo: fresh token for tab ${id} (valid ${tokenTtl} s)`);
    return sendJson(res, 200, {
      user: id, key: tab.key, owner: tab.owner, room, token, ttl: tokenTtl, expires_at: exp, iceServers: turnServers(id),
    });
  } catch (e) {
    console.error(`demo: minting a token for tab ${id} failed: ${e.message}`);
    return sendJson(res, 500, { error: 'mint failed' });
  }
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/config.json') {
    return sendJson(res, 200, { janusWsUrl, room, auth: authEnabled, ttl: authEnabled ? tokenTtl : null });
  }
  if (url.pathname === '/token') return handleToken(req, res, url);
  if (url.pathname === '/favicon.ico') return send(res, 204, 'image/x-icon');
  const f = files[url.pathname];
  if (!f) return send(res, 404, 'text/plain', 'not found\n');
  // naf-janus-adapter sends HEAD to the page and reads the Date header for its clock sync (Node adds it).
  if (req.method === 'HEAD') return send(res, 200, f[0]);
  try {
    return send(res, 200, f[0], await readFile(f[1]));
  } catch {
    return send(res, 500, 'text/plain', `missing ${url.pathname} (run npm ci)\n`);
  }
}

function listen(h) {
  return new Promise((res, rej) => {
    const srv = createServer((req, resp) => handle(req, resp).catch(() => send(resp, 500, 'text/plain', 'error\n')));
    srv.once('error', rej);
    srv.listen(port, h, () => res(srv));
  });
}

await listen(host);
if (host === '127.0.0.1') await listen('::1').catch(() => {}); // "localhost" may resolve to ::1 first
console.log(`demo: page on http://localhost:${port}/ (Janus ${janusWsUrl}, room "${room}", ${authEnabled
  ? `private: join tokens of ${tokenTtl} s, the first tab is the owner` : 'OPEN: no tokens'})`);
