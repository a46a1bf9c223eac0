// deploy.test.mjs - the Debian package (issue 9) and docs/DEPLOYMENT.md followed on this machine (issue 15).
//
//   1. `make deb` builds the package; apt installs it; its files are where Janus and operators expect them, an
//      operator's own janus.plugin.sfu.jcfg is left alone, and it depends on the Janus it was built against;
//   2. Debian's /usr/bin/janus with the /etc/janus the janus package ships (plus a plugin config with a public key
//      made here by the packaged sfu-token) loads the plugin: a valid RS512 token joins, a foreign one is refused;
//   3. every `deploy-test` block of docs/DEPLOYMENT.md is written (example values replaced), and the guide's
//      services run: Janus as systemd runs janus.service with the drop-in (no systemd as PID 1 here: its ExecStart,
//      Environment and LimitNOFILE are applied by hand), nginx with a self-signed certificate, coturn, the token
//      endpoint; `sfu-token doctor` finds no risk; from the client's side only nginx (443) and coturn (3478) answer;
//      two headless Chromium pages of the demo, through https://sfu.deploy.test/ and wss://sfu.deploy.test/janus
//      with ?relay=1 (iceTransportPolicy "relay"), see and hear each other with every selected candidate pair a
//      relay one on both ends (the browser's, and Janus's in the admin API); the admin API's stats answer;
//   4. apt purges the package and nothing of it is left; every file the test changed is restored.
//
// The topology is the two-host network of scripts/netns.sh (scripts/test.sh): the node (Debian's Janus, nginx,
// coturn, the token endpoint) runs in the server namespace (`nsenter --net=$SFU_JANUS_NETNS`), where 10.99.0.1 on
// v0 plays its public and private address, and every command the guide runs on the node (curl to the admin API,
// the rotation steps, ss) runs there too; this test process, the WebSocket clients and the browsers are the
// clients, in the client namespace (10.99.0.2), and reach the node across the veth by its name sfu.deploy.test
// (Chromium's --host-resolver-rules, a lookup function for Node), with a self-signed certificate for that name.
//
// Root only (it installs a package and writes /etc). Fixed ports on the node: 443, 3478, 7088, 8080, 8088, 8188.
// Runs under an exclusive lock (/run/lock/janus-sfu-system-test.lock), so two test runs on one machine never touch
// /etc/janus at once; refuses to run when janus-sfu is already installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  accessSync, chmodSync, closeSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync,
  readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { get as httpsGet } from 'node:https';
import { promisify } from 'node:util';
import { topSrcDir, topBuildDir } from './lib/janus.mjs';
import { connect } from './lib/client.mjs';
import { CHROMIUM, CHROMIUM_ARGS, PHASE_MS, until } from './lib/browser.mjs';

const PKG = 'janus-sfu';
/** The node's network namespace (the server one of scripts/netns.sh), its address and its DNS name. */
const NODE_NETNS = process.env.SFU_JANUS_NETNS || null;
const NODE_IP = process.env.SFU_JANUS_IP ?? '10.99.0.1'; // v0: plays the node's public and private address
const CLIENT_IP = process.env.SFU_CLIENT_IP ?? '10.99.0.2'; // v1: this process and the browsers
const NODE_NAME = 'sfu.deploy.test'; // a reserved test name (RFC 6761), mapped to NODE_IP for the clients
const LOCK = '/run/lock/janus-sfu-system-test.lock';
/** Everything the test may change outside its temp dir, restored at the end. */
const TOUCHED = ['/etc/janus', '/etc/nginx', '/etc/turnserver.conf', '/etc/systemd/system/janus.service.d',
  '/etc/systemd/system/sfu-token-endpoint.service', '/etc/sysctl.d/60-janus-sfu.conf'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts });
/** argv as run on the node: in its network namespace (same files, same users; only the network differs). */
const onNode = (argv) => ['nsenter', `--net=${NODE_NETNS}`, '--', ...argv];
const shNode = (cmd, args, opts = {}) => sh('nsenter', onNode([cmd, ...args]).slice(1), opts);
const runNode = (cmd, args, opts = {}) => run('nsenter', onNode([cmd, ...args]).slice(1), opts);
const execFileP = promisify(execFile);

// ---- why this file may not run ----------------------------------------------------------------------------------
function whyNot() {
  try {
    accessSync('/var/lib/dpkg/status', constants.W_OK);
  } catch {
    return 'needs root (it installs a Debian package and writes /etc)';
  }
  if (!NODE_NETNS) return 'needs the two-namespace network of scripts/test.sh (no SFU_JANUS_NETNS)';
  const v0 = runNode('ip', ['-o', '-4', 'addr', 'show', 'dev', 'v0']);
  if (v0.status !== 0 || !v0.stdout.includes(` ${NODE_IP}/`)) return `the server namespace has no v0 with ${NODE_IP}`;
  if (readlinkSync(NODE_NETNS) === readlinkSync('/proc/self/ns/net')) return 'the test runs in the server namespace';
  return null;
}
const skipReason = whyNot();

// ---- snapshot and restore of what the test touches ---------------------------------------------------------------
function snap(p) {
  let st;
  try {
    st = lstatSync(p);
  } catch {
    return { type: 'missing' };
  }
  if (st.isSymbolicLink()) return { type: 'link', target: readlinkSync(p) };
  if (st.isDirectory()) {
    const entries = {};
    for (const n of readdirSync(p)) entries[n] = snap(join(p, n));
    return { type: 'dir', mode: st.mode & 0o7777, entries };
  }
  return { type: 'file', mode: st.mode & 0o7777, data: readFileSync(p) };
}

/** Puts p back as in s; returns the paths it had to change. */
function restore(p, s, changed = []) {
  const cur = snap(p);
  if (s.type === 'missing') {
    if (cur.type !== 'missing') { rmSync(p, { recursive: true, force: true }); changed.push(p); }
    return changed;
  }
  if (cur.type !== s.type) {
    rmSync(p, { recursive: true, force: true });
    changed.push(p);
  }
  if (s.type === 'dir') {
    if (cur.type !== 'dir') mkdirSync(p);
    if (cur.type === 'dir' && cur.mode !== s.mode) changed.push(p);
    chmodSync(p, s.mode);
    for (const n of readdirSync(p)) {
      if (!(n in s.entries)) { rmSync(join(p, n), { recursive: true, force: true }); changed.push(join(p, n)); }
    }
    for (const [n, e] of Object.entries(s.entries)) restore(join(p, n), e, changed);
  } else if (s.type === 'link') {
    if (cur.type !== 'link' || cur.target !== s.target) {
      rmSync(p, { force: true });
      symlinkSync(s.target, p);
      changed.push(p);
    }
  } else if (cur.type !== 'file' || !cur.data.equals(s.data) || cur.mode !== s.mode) {
    writeFileSync(p, s.data);
    chmodSync(p, s.mode);
    changed.push(p);
  }
  return changed;
}

// ---- processes started the way systemd starts units -----------------------------------------------------------
/** The [Service] settings of a unit and its drop-ins, as systemd merges them (ExecStart= empties the list). */
function readUnit(unitPath, dropInDir = null) {
  const files = [unitPath];
  if (dropInDir && existsSync(dropInDir)) {
    files.push(...readdirSync(dropInDir).filter((f) => f.endsWith('.conf')).sort().map((f) => join(dropInDir, f)));
  }
  const u = { ExecStart: [], Environment: {}, Type: 'simple', LimitNOFILE: null, User: null };
  for (const f of files) {
    let section = '';
    for (const raw of readFileSync(f, 'utf8').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) { section = sec[1]; continue; }
      if (section !== 'Service') continue;
      const [k, ...rest] = line.split('=');
      const v = rest.join('=');
      if (k === 'ExecStart') u.ExecStart = v === '' ? [] : [...u.ExecStart, v];
      else if (k === 'Environment') {
        for (const kv of v.split(/\s+/).filter(Boolean)) {
          const i = kv.indexOf('=');
          u.Environment[kv.slice(0, i)] = kv.slice(i + 1);
        }
      } else if (k in u) u[k] = v;
    }
  }
  assert.equal(u.ExecStart.length, 1, `${unitPath}: one ExecStart expected, got ${JSON.stringify(u.ExecStart)}`);
  u.argv = u.ExecStart[0].split(/\s+/).filter(Boolean);
  return u;
}

const children = new Set();
/** Spawns argv on the node (under prlimit when limitNofile), stdout+stderr into logFile; { child, exited }.
 * nsenter and prlimit exec: child.pid is the program's. */
function startLogged(argv, logFile, { env = {}, limitNofile = null } = {}) {
  const full = onNode(limitNofile ? ['prlimit', `--nofile=${limitNofile}:${limitNofile}`, '--', ...argv] : argv);
  const fd = openSync(logFile, 'a');
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  closeSync(fd);
  children.add(child);
  const exited = new Promise((res) => child.once('exit', (code, signal) => { children.delete(child); res({ code, signal }); }));
  return { child, exited };
}

/** Pids of processes running `exe` on the node (in its network namespace). */
function pidsOf(exe) {
  const ns = readlinkSync(NODE_NETNS);
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/exe`) === exe && readlinkSync(`/proc/${d}/ns/net`) === ns) out.push(Number(d));
    } catch { /* gone or not ours */ }
  }
  return out;
}
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
async function stopPid(pid, ms = 5000) {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + ms;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
const daemons = new Set(); // pids of forking daemons we started

async function waitHttp(url, what, { timeoutMs = 20000, check = () => true } = {}) {
  return until(what, async () => {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!r.ok) return false;
    const body = await r.json();
    return check(body) && body;
  }, { timeoutMs, intervalMs: 100 });
}

/** curl on the node (its 127.0.0.1, as the guide's commands run): GET, or POST of `body`; the JSON answer.
 * Janus's admin API answers errors with HTTP 200, so only a transport failure throws. */
async function nodeJson(url, body = null) {
  const curl = ['curl', '-sS', '--max-time', '5', ...(body ? ['-d', JSON.stringify(body)] : ['-f']), url];
  const { stdout } = await execFileP('nsenter', onNode(curl).slice(1), { encoding: 'utf8', timeout: 10000 });
  return JSON.parse(stdout);
}

/** Waits until GET url on the node answers JSON. */
const waitNodeHttp = (url, what, timeoutMs = 20000) =>
  until(what, () => nodeJson(url).catch(() => false), { timeoutMs, intervalMs: 100 });

/** A TCP connection from here (a client) to NODE_IP:port: 'open', or the error code (ECONNREFUSED...). */
const tcpProbe = (port) => new Promise((res) => {
  const c = tcpConnect({ host: NODE_IP, port, timeout: 3000 });
  c.once('connect', () => { c.destroy(); res('open'); });
  c.once('timeout', () => { c.destroy(); res('timeout'); });
  c.once('error', (e) => res(e.code));
});

/** How the clients find the node: NODE_NAME is NODE_IP (Node's net/tls lookup, with and without `all`). */
const nodeLookup = (host, o, cb) => {
  if (host !== NODE_NAME) return cb(Object.assign(new Error(`${host}: only ${NODE_NAME} resolves here`), { code: 'ENOTFOUND' }));
  return o?.all ? cb(null, [{ address: NODE_IP, family: 4 }]) : cb(null, NODE_IP, 4);
};
/** TLS options of a client that trusts the node's self-signed certificate (and checks it names NODE_NAME). */
const clientTls = () => ({ ca: readFileSync(state.cert), lookup: nodeLookup });

/** GET https://NODE_NAME<path> from here through nginx: { status, body }. */
const httpsNode = (path) => new Promise((res, rej) => {
  const req = httpsGet(`https://${NODE_NAME}${path}`, { ...clientTls(), timeout: 5000 }, (r) => {
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (d) => { body += d; });
    r.on('end', () => res({ status: r.statusCode, body }));
  });
  req.once('timeout', () => req.destroy(new Error('timeout')));
  req.once('error', rej);
});

// ---- state -----------------------------------------------------------------------------------------------------
let tmp;
let lockHolder;
let snapshot;
let installedByUs = false;
let debPath;
let pkgFiles = [];
const state = {};

/** An exclusive lock across test runs on this machine: flock held by a child process. */
async function takeLock() {
  // The lock lives as long as `cat` reads our pipe: closing it (or this process dying) releases it.
  lockHolder = spawn('flock', ['-w', '240', LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((res, rej) => {
    lockHolder.stdout.once('data', res);
    lockHolder.once('exit', (c) => rej(new Error(`flock ${LOCK} exited ${c}`)));
  });
}

const installed = () => run('dpkg-query', ['-W', '-f=${Status}', PKG]).stdout === 'install ok installed';
const aptGet = (...args) => sh('apt-get', ['-y', '-q', '-o', 'DPkg::Lock::Timeout=600', ...args], {
  env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 900000,
});

before(async () => {
  if (skipReason) return;
  tmp = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), 'sfu-e2e-deploy-'));
  await takeLock();
  assert.ok(!installed(), `${PKG} is already installed on this machine: this test installs and purges it, so it `
    + `refuses to run (apt-get purge ${PKG} to allow it)`);
  snapshot = Object.fromEntries(TOUCHED.map((p) => [p, snap(p)]));
});

after(async () => {
  if (skipReason) return;
  for (const c of children) c.kill('SIGTERM');
  for (const pid of daemons) await stopPid(pid);
  await sleep(200);
  for (const c of children) c.kill('SIGKILL');
  await state.browser?.close().catch(() => {});
  if (installedByUs && installed()) {
    try { aptGet('purge', PKG); } catch (e) { console.error(`purge failed: ${e.stderr ?? e}`); }
  }
  if (snapshot) for (const [p, s] of Object.entries(snapshot)) restore(p, s);
  lockHolder?.stdin.end();
  if (tmp && !process.env.KEEP_JANUS_TMP) rmSync(tmp, { recursive: true, force: true });
});

const opts = (timeoutMs) => ({ skip: skipReason ?? false, timeout: timeoutMs });

// ---- 1. the package ------------------------------------------------------------------------------------------------
test('make deb builds the package with dpkg-buildpackage', opts(600000), async (t) => {
  const t0 = Date.now();
  const r = run('make', ['deb'], { cwd: topBuildDir, timeout: 590000 });
  assert.equal(r.status, 0, `make deb failed:\n${r.stdout}\n${r.stderr}`);
  const debs = readdirSync(join(topBuildDir, 'deb')).filter((f) => /^janus-sfu_.*\.deb$/.test(f));
  assert.equal(debs.length, 1, `one .deb expected in deb/: ${debs}`);
  debPath = join(topBuildDir, 'deb', debs[0]);
  t.diagnostic(`make deb: ${debs[0]} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('apt installs it: plugin, sample conffile, sfu-token; an operator\'s config is left alone', opts(900000), async (t) => {
  assert.ok(debPath, 'no package built');
  // An operator's own config, there before the package: the package must not touch it.
  const operatorCfg = '/etc/janus/janus.plugin.sfu.jcfg';
  const mine = `# the operator's own file\ngeneral: {\n\tmax_room_size = 7\n}\n`;
  writeFileSync(operatorCfg, mine);
  installedByUs = true;
  const t0 = Date.now();
  aptGet('install', '--no-install-recommends', debPath);
  t.diagnostic(`apt-get install: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.ok(installed(), 'dpkg says not installed');
  assert.equal(readFileSync(operatorCfg, 'utf8'), mine, 'the package changed the operator\'s janus.plugin.sfu.jcfg');

  pkgFiles = sh('dpkg', ['-L', PKG]).split('\n').filter(Boolean);
  const multiarch = sh('dpkg-architecture', ['-qDEB_HOST_MULTIARCH']).trim();
  const so = `/usr/lib/${multiarch}/janus/plugins/libjanus_sfu.so`;
  for (const f of [so, '/etc/janus/janus.plugin.sfu.jcfg.sample', '/usr/bin/sfu-token']) {
    assert.ok(pkgFiles.includes(f), `${f} not in the package: ${pkgFiles.join(' ')}`);
    assert.ok(statSync(f).isFile(), `${f} not installed`);
  }
  assert.deepEqual(pkgFiles.filter((f) => f.endsWith('.la') || f.endsWith('.a')), [], 'no libtool archives');
  assert.deepEqual(pkgFiles.filter((f) => f.includes('/janus/plugins/')).filter((f) => f !== so && !f.endsWith('/plugins')), [],
    'only the .so in the plugins folder');
  assert.ok(!pkgFiles.includes(operatorCfg), 'the package must not own janus.plugin.sfu.jcfg');
  assert.equal(sh('sh', ['-c', 'command -v sfu-token']).trim(), '/usr/bin/sfu-token');
  assert.match(sh('dpkg-query', ['-W', '-f=${Conffiles}', PKG]), /\/etc\/janus\/janus\.plugin\.sfu\.jcfg\.sample [0-9a-f]{32}/);
  const janusVersion = sh('dpkg-query', ['-W', '-f=${Version}', 'janus']);
  const depends = sh('dpkg-query', ['-W', '-f=${Depends}', PKG]);
  assert.ok(depends.includes(`janus (>= ${janusVersion})`), `Depends: ${depends} (janus ${janusVersion})`);
  assert.match(depends, /janus \(<< [0-9.]+~\)/);
  t.diagnostic(`Depends: ${depends}`);
});

// ---- 2. Debian's Janus with the package --------------------------------------------------------------------------
/** A join of user `user` into room `room` with `token`, through a fresh WebSocket session; the plugin's answer. */
async function joinWith(wsUrl, room, user, token, wsOptions = {}) {
  const conn = await connect(wsUrl, { wsOptions });
  try {
    const session = await conn.createSession();
    const h = await session.attach('janus.plugin.sfu');
    return await h.send({ kind: 'join', room_id: room, user_id: user, subscribe: { notifications: true, data: true }, token });
  } finally {
    conn.close();
  }
}

const mint = (key, room, user, extra = []) =>
  sh('/usr/bin/sfu-token', ['mint', '--key', key, '--room', room, '--user', user, '--join', '--ttl', '300', ...extra]).trim();

test('Debian\'s janus with the stock /etc/janus loads the packaged plugin: a valid token joins, a foreign one is refused', opts(120000), async (t) => {
  assert.ok(installed(), 'package not installed');
  sh('/usr/bin/sfu-token', ['keygen', '--out', join(tmp, 'keys')]);
  sh('/usr/bin/sfu-token', ['keygen', '--out', join(tmp, 'other-keys')]);
  writeFileSync('/etc/janus/janus.plugin.sfu.jcfg', `general: {\n\tauth_key = "${join(tmp, 'keys', 'public.der')}"\n}\n`);
  // janus.service's ExecStart without --daemon (this test is its parent), configs from /etc/janus as shipped, on the
  // node. Debian's stock transports listen on every interface without TLS: this client reaches them at NODE_IP
  // (what section 4 of the guide closes).
  const unit = readUnit('/lib/systemd/system/janus.service');
  const argv = unit.argv.filter((a) => a !== '--daemon');
  assert.equal(argv[0], '/usr/bin/janus');
  const log = join(tmp, 'janus-stock.log');
  const { child, exited } = startLogged(argv, log);
  try {
    const info = await waitHttp(`http://${NODE_IP}:8088/janus/info`, `stock Janus answers on ${NODE_IP}:8088`);
    assert.ok('janus.plugin.sfu' in (info.plugins ?? {}), `plugin not loaded: ${Object.keys(info.plugins ?? {})}\n${readFileSync(log, 'utf8').slice(-3000)}`);
    const key = join(tmp, 'keys', 'private.pem');
    const ok = await joinWith(`ws://${NODE_IP}:8188`, 'pkg-room', 'alice', mint(key, 'pkg-room', 'alice'));
    assert.equal(ok.success, true, `valid token refused: ${JSON.stringify(ok)}`);
    const foreign = mint(join(tmp, 'other-keys', 'private.pem'), 'pkg-room', 'mallory');
    const bad = await joinWith(`ws://${NODE_IP}:8188`, 'pkg-room', 'mallory', foreign);
    assert.equal(bad.success, false, `a token of another key was accepted: ${JSON.stringify(bad)}`);
    assert.equal(bad.error?.reason, 'bad_signature', JSON.stringify(bad));
    const text = readFileSync(log, 'utf8');
    assert.ok(!text.includes(foreign.split('.')[2]), 'a token signature reached the log');
    t.diagnostic(`stock Janus ${info.version_string}: plugins ${Object.keys(info.plugins).length}, join ok, foreign key refused (${bad.error.reason})`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});

// ---- 3. docs/DEPLOYMENT.md ---------------------------------------------------------------------------------------
/** The `deploy-test: VERB ARG` blocks of docs/DEPLOYMENT.md (VERB write: ARG is a path; run: a name): [[arg, text]]. */
function guideBlocks(verb = 'write') {
  const md = readFileSync(join(topSrcDir, 'docs', 'DEPLOYMENT.md'), 'utf8');
  const re = new RegExp(`<!-- deploy-test: ${verb} (\\S+) -->\n\`\`\`[a-z]*\n([\\s\\S]*?)\`\`\``, 'g');
  return [...md.matchAll(re)].map((m) => [m[1], m[2]]);
}

/** The guide's example values replaced with this machine's. */
const fill = (text, subst) => subst.reduce((out, [a, b]) => out.split(a).join(b), text);

test('docs/DEPLOYMENT.md followed: Janus as systemd starts it, nginx TLS, coturn, token endpoint; doctor finds no risk', opts(180000), async (t) => {
  assert.ok(installed(), 'package not installed');
  const libDir = dirname(dirname(readdirSync('/usr/lib').map((d) => `/usr/lib/${d}/janus/plugins/libjanus_sfu.so`).find(existsSync)));
  const tokensDir = join(tmp, 'sfu-tokens');
  mkdirSync(tokensDir, { mode: 0o700 });
  state.adminSecret = randomBytes(24).toString('hex');
  const turnSecret = randomBytes(24).toString('hex');
  // The certificate: self-signed for the node's name, trusted by the test browser by its key's hash and by this
  // process as a CA (which also checks the name).
  const cert = state.cert = join(tmp, 'cert.pem');
  const certKey = join(tmp, 'key.pem');
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${NODE_NAME}`,
    '-addext', `subjectAltName=DNS:${NODE_NAME}`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-keyout', certKey, '-out', cert]);
  state.spki = sh('sh', ['-c', `openssl x509 -in '${cert}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]).trim();

  // The TURN URLs name the node by its address: Chromium resolves the host of a turn:...?transport=udp URL through
  // DNS, past --host-resolver-rules and an /etc/hosts entry alike ("TURN host lookup received error" after 13 s
  // here, and only the TCP relay left), and the test network has no DNS server (DEPLOYMENT.md section 12).
  const subst = state.subst = [
    ['turn:sfu.example.com', `turn:${NODE_IP}`],
    ['/etc/letsencrypt/live/sfu.example.com/fullchain.pem', cert],
    ['/etc/letsencrypt/live/sfu.example.com/privkey.pem', certKey],
    ['sfu.example.com', NODE_NAME],
    ['203.0.113.10', NODE_IP],
    ['10.0.0.5', NODE_IP],
    ['"eth0"', '"v0"'],
    ['CHANGE-ME-admin-secret', state.adminSecret],
    ['CHANGE-ME-turn-secret', turnSecret],
    ['/var/lib/sfu-tokens', tokensDir],
    ['/opt/janus-sfu', topSrcDir],
    ['/usr/lib/x86_64-linux-gnu/janus', libDir],
  ];
  const blocks = guideBlocks();
  assert.ok(blocks.length >= 9, `deploy-test blocks in DEPLOYMENT.md: ${blocks.map((b) => b[0])}`);
  for (const [path, text] of blocks) {
    const out = fill(text, subst);
    assert.ok(TOUCHED.some((p) => path === p || path.startsWith(`${p}/`)), `${path} is not in TOUCHED (it would not be restored)`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, out);
  }
  // Section 2's keys and section 7's secret file.
  sh('/usr/bin/sfu-token', ['keygen', '--out', tokensDir, '--kid', '2026-01']);
  writeFileSync('/etc/janus/sfu-jwks.json', readFileSync(join(tokensDir, 'jwks.json')));
  writeFileSync(join(tokensDir, 'turn-secret'), `${turnSecret}\n`, { mode: 0o600 });
  // Section 5: the site enabled; nginx -t as the guide says.
  symlinkSync('/etc/nginx/sites-available/janus-sfu', '/etc/nginx/sites-enabled/janus-sfu');
  const nt = run('nginx', ['-t']);
  assert.equal(nt.status, 0, `nginx -t: ${nt.stderr}`);
  // Section 9's sysctl file: every key exists (applying it is the host's business, see the guide's section 12).
  for (const line of readFileSync('/etc/sysctl.d/60-janus-sfu.conf', 'utf8').split('\n')) {
    const m = /^\s*([a-z0-9_.]+)\s*=\s*(\d+)\s*$/.exec(line);
    if (m) assert.ok(existsSync(`/proc/sys/${m[1].replace(/\./g, '/')}`), `sysctl ${m[1]} does not exist`);
  }

  // The doctor, on what the guide leaves.
  const doc = runNode('/usr/bin/sfu-token', ['doctor', '--janus-config', '/etc/janus']);
  t.diagnostic(`sfu-token doctor: ${doc.stdout.trim().split('\n').pop()}`);
  assert.equal(doc.status, 0, `doctor found risks in the guide's setup:\n${doc.stdout}${doc.stderr}`);
  assert.doesNotMatch(doc.stdout, /^risk /m);

  // Janus as systemd starts janus.service (Type=forking, LimitNOFILE of the drop-in).
  const unit = readUnit('/lib/systemd/system/janus.service', '/etc/systemd/system/janus.service.d');
  assert.equal(unit.Type, 'forking');
  assert.ok(Number(unit.LimitNOFILE) > 65536, `the drop-in raises Debian's LimitNOFILE: ${unit.LimitNOFILE}`);
  // LimitNOFILE as systemd applies it; a sandbox without CAP_SYS_RESOURCE cannot raise its hard limit, so there
  // the test applies the highest limit it may and says so (DEPLOYMENT.md section 12).
  const hard = Number(/Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))[1]);
  const nofile = Math.min(Number(unit.LimitNOFILE), hard);
  if (nofile < Number(unit.LimitNOFILE)) {
    t.diagnostic(`LimitNOFILE=${unit.LimitNOFILE} cannot be applied here (this process's hard limit is ${hard}, no CAP_SYS_RESOURCE): Janus runs with ${nofile}`);
  }
  const before = new Set(pidsOf('/usr/bin/janus'));
  const starter = startLogged(unit.argv, join(tmp, 'janus.log'), { limitNofile: nofile });
  const st = await starter.exited;
  assert.equal(st.code, 0, `janus --daemon exited ${JSON.stringify(st)}: ${readFileSync(join(tmp, 'janus.log'), 'utf8').slice(-2000)}`);
  const pid = await until('the forked Janus', () => pidsOf('/usr/bin/janus').find((p) => !before.has(p)), { timeoutMs: 10000, intervalMs: 100 });
  daemons.add(pid);
  state.janusPid = pid;
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  assert.match(limits, new RegExp(`Max open files\\s+${nofile}\\s+${nofile}\\s`));
  const info = await waitNodeHttp('http://127.0.0.1:8088/janus/info', 'Janus answers on the node\'s 127.0.0.1:8088');
  assert.deepEqual(Object.keys(info.plugins), ['janus.plugin.sfu'], 'only the sfu plugin is loaded (plugins: disable)');
  assert.equal(info.event_loops ?? 2, 2);

  // coturn: coturn.service's ExecStart (Type=notify: wait for its port).
  const turnUnit = readUnit('/lib/systemd/system/coturn.service');
  startLogged(turnUnit.argv, join(tmp, 'coturn.log'));
  await until('coturn listens on 3478/udp', () => shNode('ss', ['-Hulpn', 'sport = :3478']).includes('turnserver'), { timeoutMs: 15000, intervalMs: 100 });

  // The token endpoint: its unit's ExecStart and Environment.
  const tokUnit = readUnit('/etc/systemd/system/sfu-token-endpoint.service');
  startLogged(tokUnit.argv, join(tmp, 'token-endpoint.log'), { env: tokUnit.Environment });
  await waitNodeHttp('http://127.0.0.1:8080/config.json', 'the token endpoint answers on the node\'s 127.0.0.1:8080', 15000);

  // nginx: nginx.service runs it as a forking daemon; here it stays in the foreground as this test's child.
  startLogged(['/usr/sbin/nginx', '-g', 'daemon off; master_process on;'], join(tmp, 'nginx.log'));
  await until('nginx listens on 443', () => shNode('ss', ['-Htlpn', 'sport = :443']).includes('nginx'), { timeoutMs: 15000, intervalMs: 100 });

  // From a client's side: the page through nginx with the certificate checked against the name; Janus's API, its
  // admin API and the token endpoint are the node's loopback only (section 4); coturn answers.
  const page = await until(`https://${NODE_NAME}/config.json from the client`, () => httpsNode('/config.json').catch(() => false),
    { timeoutMs: 15000, intervalMs: 200 });
  assert.equal(page.status, 200, `https://${NODE_NAME}/config.json: ${JSON.stringify(page)}`);
  const probes = {};
  for (const port of [8188, 8088, 7088, 8080]) probes[port] = await tcpProbe(port);
  assert.deepEqual(probes, { 8188: 'ECONNREFUSED', 8088: 'ECONNREFUSED', 7088: 'ECONNREFUSED', 8080: 'ECONNREFUSED' },
    `only nginx and coturn may be reachable from ${CLIENT_IP}`);
  assert.equal(await tcpProbe(443), 'open');
  assert.equal(await tcpProbe(3478), 'open', 'coturn listens on 3478/tcp too');
  t.diagnostic(`from ${CLIENT_IP}: 443 and 3478 open; ${Object.entries(probes).map(([p, r]) => `${p} ${r}`).join(', ')}`);
  state.up = true;
});

test('key rotation as section 8 says: both keys join after the first step, the old one is refused after the second', opts(60000), async (t) => {
  assert.ok(state.up, 'the guide\'s services did not start');
  const runs = Object.fromEntries(guideBlocks('run'));
  assert.ok(runs['rotate-add'] && runs['rotate-drop'], `run blocks: ${Object.keys(runs)}`);
  const tokensDir = state.subst.find(([a]) => a === '/var/lib/sfu-tokens')[1];
  const step = (name) => {
    // On the node, as the operator runs it (its curl reaches the admin API on the node's 127.0.0.1).
    const r = runNode('bash', ['-euo', 'pipefail', '-c', fill(runs[name], state.subst)], { timeout: 30000 });
    assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
    const reply = JSON.parse(r.stdout.slice(r.stdout.indexOf('{"janus"')));
    assert.equal(reply.janus, 'success', `${name}: ${r.stdout}`);
    assert.equal(reply.response?.success, true, `${name}: reload_keys failed: ${r.stdout}`);
  };
  // Joins as a client does: wss://NODE_NAME/janus through nginx.
  const joinNode = (room, user, token) => joinWith(`wss://${NODE_NAME}/janus`, room, user, token, clientTls());
  const oldKey = ['--kid', '2026-01'];
  const newKey = ['--kid', '2026-02'];
  step('rotate-add');
  const a = await joinNode('rot', 'old1', mint(join(tokensDir, 'private.pem'), 'rot', 'old1', oldKey));
  assert.equal(a.success, true, `old key after rotate-add: ${JSON.stringify(a)}`);
  const b = await joinNode('rot', 'new1', mint(join(tokensDir, '2026-02', 'private.pem'), 'rot', 'new1', newKey));
  assert.equal(b.success, true, `new key after rotate-add: ${JSON.stringify(b)}`);
  step('rotate-drop');
  const c = await joinNode('rot', 'old2', mint(join(tokensDir, 'private.pem'), 'rot', 'old2', oldKey));
  assert.equal(c.success, false, `old key after rotate-drop: ${JSON.stringify(c)}`);
  assert.equal(c.error?.reason, 'unknown_kid', JSON.stringify(c));
  const d = await joinNode('rot', 'new2', mint(join(tokensDir, '2026-02', 'private.pem'), 'rot', 'new2', newKey));
  assert.equal(d.success, true, `new key after rotate-drop: ${JSON.stringify(d)}`);
  // The token endpoint still signs with 2026-01 (the guide restarts it with the new key): put the old key back for
  // the browser test.
  writeFileSync('/etc/janus/sfu-jwks.json', readFileSync(join(tokensDir, 'jwks.json')));
  step('rotate-add');
  t.diagnostic('rotation: old+new keys join after rotate-add; old refused (unknown_kid) after rotate-drop');
});

test('a browser page joins through https/wss (nginx) and TURN (coturn, relay only): media flows, every pair is a relay one', opts(240000), async (t) => {
  assert.ok(state.up, 'the guide\'s services did not start');
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmp, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    // The node's name is its address for this browser (the test network has no DNS): the page, the WebSocket.
    executablePath: CHROMIUM, headless: true,
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${state.spki}`, `--host-resolver-rules=MAP ${NODE_NAME} ${NODE_IP}`],
  });
  state.browser = context;
  const fdsBefore = readdirSync(`/proc/${state.janusPid}/fd`).length;
  const pages = {};
  const logs = {};
  const diagnostics = async () => {
    const out = [];
    for (const [n, p] of Object.entries(pages)) {
      out.push(`--- ${n}: ${await p.evaluate(() => document.getElementById('log')?.innerText.slice(-1500)).catch(() => '?')}`);
      out.push((logs[n] ?? []).slice(-10).join('\n'));
    }
    for (const f of ['janus.log', 'coturn.log', 'nginx.log', 'token-endpoint.log']) {
      try { out.push(`--- ${f}\n${readFileSync(join(tmp, f), 'utf8').split('\n').slice(-15).join('\n')}`); } catch { /* none */ }
    }
    return out.join('\n');
  };
  for (const name of ['alice', 'bob']) {
    const p = await context.newPage();
    logs[name] = [];
    p.on('console', (m) => logs[name].push(`[${m.type()}] ${m.text()}`));
    pages[name] = p;
    await p.goto(`https://${NODE_NAME}/?relay=1&name=${name}`);
    await p.click('#join');
    await until(`${name} joins through wss://${NODE_NAME}/janus`, () => p.evaluate(() => window.demo.joined && window.demo.me), { diagnostics });
  }
  const id = {};
  for (const n of Object.keys(pages)) id[n] = (await pages[n].evaluate(() => window.demo.me)).user;
  for (const [n, other] of [['alice', 'bob'], ['bob', 'alice']]) {
    await until(`${n} receives ${other}'s audio and video through TURN`, async () => {
      const s = (await pages[n].evaluate(() => window.demo.stats()))[id[other]];
      return s && s.audioBytes > 0 && s.videoBytes > 0 && s.framesDecoded > 0 && s;
    }, { diagnostics });
  }
  for (const n of Object.keys(pages)) {
    const pairs = await pages[n].evaluate(() => window.demo.candidatePairs());
    assert.equal(pairs.length, 2, `${n}: publisher + one subscriber PeerConnection: ${JSON.stringify(pairs)}`);
    for (const p of pairs) {
      assert.equal(p.local, 'relay', `${n}'s ${p.who} PeerConnection does not go through TURN: ${JSON.stringify(p)}`);
      assert.equal(p.state, 'connected', JSON.stringify(p));
      // The browser reaches coturn over UDP or TCP (the guide gives both URLs): whichever pair answers first carries
      // the media and Chromium keeps it; on a busy machine that is often the TCP one, so either counts here.
    }
    t.diagnostic(`${n}: ${pairs.map((p) => `${p.who} ${p.local}(${p.relayProtocol})->${p.remote}`).join(', ')}`);
  }
  // Janus's end of the same PeerConnections (admin API on the node): each selected pair joins a port of Janus's
  // rtp_port_range (section 3) to a port of coturn's relay range (section 6), and no candidate of the browsers'
  // own address ever reached Janus.
  const admin = (body) => nodeJson('http://127.0.0.1:7088/admin', { admin_secret: state.adminSecret, ...body });
  const range = (text, re) => { const m = re.exec(text); assert.ok(m, `${re} not in the guide's config`); return [Number(m[1]), Number(m[2])]; };
  const rtpRange = range(readFileSync('/etc/janus/janus.jcfg', 'utf8'), /rtp_port_range = "(\d+)-(\d+)"/);
  const turnConf = readFileSync('/etc/turnserver.conf', 'utf8');
  const relayRange = [range(turnConf, /^(min-port)=(\d+)$/m)[1], range(turnConf, /^(max-port)=(\d+)$/m)[1]];
  const within = (port, [lo, hi]) => port >= lo && port <= hi;
  const icePairs = [];
  for (const sid of (await admin({ janus: 'list_sessions', transaction: 'l1' })).sessions ?? []) {
    for (const hid of (await admin({ janus: 'list_handles', transaction: 'l2', session_id: sid })).handles ?? []) {
      const ice = (await admin({ janus: 'handle_info', transaction: 'l3', session_id: sid, handle_id: hid })).info?.webrtc?.ice;
      if (ice?.['selected-pair']) icePairs.push(ice);
    }
  }
  assert.equal(icePairs.length, 4, `Janus's PeerConnections with a selected pair: ${JSON.stringify(icePairs)}`);
  for (const ice of icePairs) {
    const pair = ice['selected-pair'];
    const m = /^(\S+):(\d+) \[host,udp\] <-> (\S+):(\d+) \[relay,udp\]$/.exec(pair);
    assert.ok(m, `Janus's selected pair is not host <-> relay over UDP: ${pair}`);
    assert.ok(m[1] === NODE_IP && within(Number(m[2]), rtpRange), `Janus's end ${m[1]}:${m[2]} is not in rtp_port_range ${rtpRange}`);
    assert.ok(m[3] === NODE_IP && within(Number(m[4]), relayRange), `the relayed end ${m[3]}:${m[4]} is not coturn's (${relayRange})`);
    assert.ok(!JSON.stringify(ice['remote-candidates']).includes(CLIENT_IP), `a browser's own address reached Janus: ${JSON.stringify(ice['remote-candidates'])}`);
  }
  t.diagnostic(`Janus's selected pairs: ${icePairs.map((i) => i['selected-pair']).join('; ')}`);
  // Measurements for DEPLOYMENT.md section 9: descriptors per handle, and the UDP buffers Janus's sockets get.
  const fdsAfter = readdirSync(`/proc/${state.janusPid}/fd`).length;
  const handles = 4; // two users: a publisher and one subscriber each
  t.diagnostic(`fds per handle: ${((fdsAfter - fdsBefore - 2) / handles).toFixed(1)} (Janus fds ${fdsBefore} -> ${fdsAfter}, ${handles} handles, 2 WebSockets)`);
  const ss = shNode('ss', ['-uamp']);
  const rb = new Set();
  const lines = ss.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].includes(`pid=${state.janusPid},`)) {
      const m = /rb(\d+)/.exec(lines[i + 1] ?? '') ?? /rb(\d+)/.exec(lines[i]);
      if (m) rb.add(Number(m[1]));
    }
  }
  t.diagnostic(`Janus UDP socket receive buffer: ${[...rb].join(', ')} bytes (net.core.rmem_default ${shNode('cat', ['/proc/sys/net/core/rmem_default']).trim()})`);
  // Section 10: the plugin's counters through the admin API on the node's 127.0.0.1 with the admin secret.
  const stats = await admin({ janus: 'message_plugin', transaction: 'm1', plugin: 'janus.plugin.sfu', request: { request: 'stats' } });
  assert.equal(stats.janus, 'success', JSON.stringify(stats));
  t.diagnostic(`admin stats: ${JSON.stringify(stats.response).slice(0, 400)}`);
  const denied = await nodeJson('http://127.0.0.1:7088/admin', { janus: 'list_sessions', transaction: 'm2', admin_secret: 'janusoverlord' });
  assert.equal(denied.janus, 'error', 'the admin API took Debian\'s sample secret');
  for (const p of Object.values(pages)) await p.close();
  await context.close();
  state.browser = null;
  rmSync(profile, { recursive: true, force: true });
});

// ---- 4. removal --------------------------------------------------------------------------------------------------
test('apt purges the package: nothing of it is left; every file the test changed is restored', opts(600000), async (t) => {
  assert.ok(installedByUs, 'the package was never installed');
  for (const pid of daemons) await stopPid(pid);
  daemons.clear();
  for (const c of [...children]) c.kill('SIGTERM');
  await until('the guide\'s services stop', () => children.size === 0, { timeoutMs: 10000, intervalMs: 100 });
  aptGet('purge', PKG);
  assert.ok(!installed(), 'still installed');
  assert.equal(run('dpkg-query', ['-W', '-f=${Status}', PKG]).stdout.includes('config-files'), false, 'conffiles left (not purged)');
  const left = pkgFiles.filter((f) => existsSync(f) && !statSync(f).isDirectory());
  assert.deepEqual(left, [], 'files of the package left behind');
  assert.ok(!existsSync('/usr/share/doc/janus-sfu'), '/usr/share/doc/janus-sfu left behind');
  assert.ok(!existsSync('/etc/janus/janus.plugin.sfu.jcfg.sample'), 'the sample conffile left behind');
  const changed = [];
  for (const [p, s] of Object.entries(snapshot)) restore(p, s, changed);
  const again = [];
  for (const [p, s] of Object.entries(snapshot)) restore(p, s, again);
  assert.deepEqual(again, [], 'a second restore still found differences');
  t.diagnostic(`restored ${changed.length} paths: ${changed.slice(0, 12).join(' ')}${changed.length > 12 ? ' ...' : ''}`);
});
