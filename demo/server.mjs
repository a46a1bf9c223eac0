// server.mjs - the demo's web server (Node http, no framework): the page, the unmodified naf-janus-adapter
// bundle, the page's settings, and join tokens.
//
//   node demo/server.mjs            (scripts/demo.sh starts it; env below)
//
// Env: DEMO_PORT (8080), DEMO_HOST (127.0.0.1; also ::1 when that works), JANUS_WS_URL
// (ws://127.0.0.1:8188/), SFU_AUTH=1 + SFU_KEY=<private.pem> to mint tokens, SFU_TOKEN_BIN (tools/sfu-token).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(here, '..');
const port = Number(process.env.DEMO_PORT ?? 8080);
const host = process.env.DEMO_HOST ?? '127.0.0.1';
const janusWsUrl = process.env.JANUS_WS_URL ?? 'ws://127.0.0.1:8188/';
const tokenBin = process.env.SFU_TOKEN_BIN ?? join(top, 'tools', 'sfu-token');
const signingKey = process.env.SFU_KEY ?? join(top, '.run', 'demo', 'keys', 'private.pem');
const tokenTtl = Number(process.env.SFU_TOKEN_TTL ?? 600);

const files = {
  '/': ['text/html; charset=utf-8', join(here, 'index.html')],
  '/index.html': ['text/html; charset=utf-8', join(here, 'index.html')],
  '/app.js': ['text/javascript; charset=utf-8', join(here, 'app.js')],
  '/naf-janus-adapter.js': ['text/javascript; charset=utf-8',
    join(top, 'node_modules', 'naf-janus-adapter', 'dist', 'naf-janus-adapter.js')],
};

/* ---- Token hook --------------------------------------------------------------------------------------
 * With SFU_AUTH=1 and a signing key, /token mints a short-lived join token for (room, user) with
 * tools/sfu-token; the page passes it to adapter.setJoinToken(). Otherwise there is no token (the plugin
 * runs open) and /token answers {"token":null}. A real application decides here who may join which room.
 * ------------------------------------------------------------------------------------------------------ */
const authEnabled = process.env.SFU_AUTH === '1' && existsSync(signingKey) && existsSync(tokenBin);
const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function mintToken(room, user) {
  return new Promise((res, rej) => {
    execFile(tokenBin, ['mint', '--key', signingKey, '--room', room, '--user', user, '--join', '--ttl', String(tokenTtl)],
      { timeout: 5000 }, (err, stdout) => (err ? rej(err) : res(stdout.trim())));
  });
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/config.json') {
    return send(res, 200, 'application/json', JSON.stringify({ janusWsUrl, auth: authEnabled }));
  }
  if (url.pathname === '/token') {
    const room = url.searchParams.get('room') ?? '';
    const user = url.searchParams.get('user') ?? '';
    if (!ID_RE.test(room) || !ID_RE.test(user)) return send(res, 400, 'application/json', '{"error":"bad room or user"}');
    if (!authEnabled) return send(res, 200, 'application/json', JSON.stringify({ token: null }));
    try {
      return send(res, 200, 'application/json', JSON.stringify({ token: await mintToken(room, user), ttl: tokenTtl }));
    } catch (e) {
      console.error(`demo: minting a token failed: ${e.message}`);
      return send(res, 500, 'application/json', '{"error":"mint failed"}');
    }
  }
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
    const srv = createServer((req, resp) => handle(req, resp).catch((e) => send(resp, 500, 'text/plain', String(e))));
    srv.once('error', rej);
    srv.listen(port, h, () => res(srv));
  });
}

await listen(host);
if (host === '127.0.0.1') await listen('::1').catch(() => {}); // "localhost" may resolve to ::1 first
console.log(`demo: page on http://localhost:${port}/ (Janus ${janusWsUrl}, tokens ${authEnabled ? 'on' : 'off'})`);
