// janus.mjs - a private Janus 1.1.2 with the built janus.plugin.sfu, one per test file.
//
//   const janus = await startJanus({ pluginConfig: { max_room_size: 2 } });
//   after(() => janus.stop());
//
// Writes a fresh config folder from tests/e2e/templates (paths and ports differ per checkout and per run),
// a plugins folder holding a symlink to plugins/.libs/libjanus_sfu.so (SFU_PLUGIN_SO overrides it), and
// starts Debian's /usr/bin/janus as a child of the test process, logging to <tmp>/janus.log.
//
// Where Janus runs: inside the test network of scripts/netns.sh (scripts/test.sh uses it), Janus runs in the
// server namespace (`nsenter --net=$SFU_JANUS_NETNS`) and binds its transports to SFU_JANUS_IP (10.99.0.1), the
// address of its veth "v0", where it also gathers ICE (ice_enforce_list = "v0"); the tests, the browsers and
// sfu-bot reach it from the client namespace (10.99.0.2) as over a LAN: janus.host is the address to use
// (janus.wsUrl etc. carry it) and janus.clientHost the address where Janus reaches the test process (an event
// handler's backend). Why two namespaces: scripts/netns.sh (Firefox's ICE). Outside that network (no
// SFU_JANUS_NETNS) Janus runs here and binds to 127.0.0.1, and ICE falls back to every interface, which is fine
// for signalling-only tests.
//
// If the plugin fails to load (bad configuration, missing .so), Janus still runs: startJanus succeeds and the
// test can read logText() and check that attaching to janus.plugin.sfu fails.
//
// Sanitizers: with JANUS_LD_PRELOAD (the ASan runtime) and SFU_PLUGIN_SO (a plugin built with ASan+UBSan,
// scripts/sanitize.sh address), stop() fails when janus.log holds a sanitizer report, and copies that log into
// SFU_SANITIZER_REPORTS (a folder) when it is set. Timeouts stretch with SFU_E2E_SLACK (slack.mjs).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import {
  existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { slack } from './slack.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const topSrcDir = resolve(here, '..', '..', '..');
export const topBuildDir = resolve(process.env.top_builddir ?? topSrcDir);
export const templatesDir = join(here, '..', 'templates');
export const pluginSo = process.env.SFU_PLUGIN_SO ?? join(topBuildDir, 'plugins', '.libs', 'libjanus_sfu.so');
export const janusBin = process.env.JANUS_BIN ?? '/usr/bin/janus';
/** The server namespace of scripts/netns.sh (a /proc/PID/ns/net path), or null when Janus runs here. */
export const janusNetns = process.env.SFU_JANUS_NETNS || null;
/** Where Janus listens, and where it reaches the test process (see the head of this file). */
export const janusHost = janusNetns ? (process.env.SFU_JANUS_IP ?? '10.99.0.1') : '127.0.0.1';
export const clientHost = janusNetns ? (process.env.SFU_CLIENT_IP ?? '10.99.0.2') : '127.0.0.1';

function findJanusLibDir() {
  for (const d of ['/usr/lib/x86_64-linux-gnu/janus', '/usr/lib/aarch64-linux-gnu/janus', '/usr/lib/janus',
    '/usr/local/lib/janus']) {
    if (existsSync(join(d, 'transports', 'libjanus_http.so'))) return d;
  }
  throw new Error('Janus transports not found (apt-get install janus)');
}

/** TCP ports bound in the server namespace (its /proc/PID/net/tcp{,6}): the running Janus processes' ports. */
function serverPortsInUse() {
  const used = new Set();
  if (!janusNetns) return used;
  for (const f of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(join(dirname(dirname(janusNetns)), 'net', f), 'utf8');
    } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local) used.add(parseInt(local.split(':')[1], 16));
    }
  }
  return used;
}

function freeLocalPort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** A free TCP port: free on 127.0.0.1 here (bind to 0, read it, close) and, in the two-namespace network, not
 * bound in the server namespace either (where several Janus of one test file may run at once). */
export async function freePort() {
  for (let i = 0; ; i++) {
    const port = await freeLocalPort();
    if (i >= 50 || !serverPortsInUse().has(port)) return port;
  }
}

/** Renders a libconfig value: strings quoted and escaped, numbers and booleans bare, arrays as lists. */
export function cfgValue(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[ ${v.map(cfgValue).join(', ')} ]`;
  return JSON.stringify(String(v));
}

/** `general: { k = v ... }` for janus.plugin.sfu.jcfg. A value given as { raw: '...' } is written verbatim. */
export function renderPluginJcfg(pluginConfig) {
  const lines = ['# written by tests/e2e/lib/janus.mjs', 'general: {'];
  for (const [k, v] of Object.entries(pluginConfig)) {
    if (v === undefined || v === null) continue;
    lines.push(`\t${k} = ${typeof v === 'object' && 'raw' in v ? v.raw : cfgValue(v)}`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

/**
 * Merges { section: { key: value } } into a libconfig text made of top-level `name: { ... }` groups:
 * a key already in the section is replaced, a new one added, a missing section appended.
 */
export function mergeJcfg(text, overrides) {
  let lines = text.split('\n');
  for (const [section, kv] of Object.entries(overrides)) {
    let start = lines.findIndex((l) => new RegExp(`^${section}\\s*:\\s*\\{`).test(l));
    if (start < 0) {
      lines.push(`${section}: {`, '}');
      start = lines.length - 2;
    }
    let end = start + 1;
    while (end < lines.length && !/^\}/.test(lines[end])) end++;
    for (const [k, v] of Object.entries(kv)) {
      const re = new RegExp(`^\\s*${k}\\s*=`);
      for (let i = start + 1; i < end; i++) {
        if (re.test(lines[i])) {
          lines.splice(i, 1);
          end--;
          i--;
        }
      }
      if (v === undefined || v === null) continue;
      lines.splice(end, 0, `\t${k} = ${cfgValue(v)}`);
      end++;
    }
  }
  return lines.join('\n');
}

function fill(template, vars) {
  return template.replace(/@([A-Z_]+)@/g, (m, name) => {
    if (!(name in vars)) throw new Error(`template placeholder ${m} has no value`);
    return String(vars[name]);
  });
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

async function waitReady(httpUrl, child, logFile, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Janus exited (${child.exitCode ?? child.signalCode}) during start-up:\n${tail(logFile)}`);
    }
    try {
      const r = await fetch(`${httpUrl}/info`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return await r.json();
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Janus did not answer GET /janus/info within ${timeoutMs} ms (${lastErr}):\n${tail(logFile)}`);
}

/** The first sanitizer report in a Janus log (ASan, LSan, UBSan), with some context, or null. */
export function sanitizerReport(text) {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:/.test(l));
  return i < 0 ? null : lines.slice(Math.max(0, i - 2), i + 40).join('\n');
}

function tail(file, n = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts Janus. Options:
 *  - pluginConfig: keys of janus.plugin.sfu.jcfg `general` (strings quoted, numbers/booleans bare); null: no file.
 *  - legacyCfg: a string written as janus.plugin.sfu.cfg (INI) instead of the .jcfg.
 *  - janusConfig: { section: { key: value } } merged into janus.jcfg (e.g. { general: { session_timeout: 5 } }).
 *  - eventHandler: null, or { backend: 'http://<clientHost>:PORT/' } to load Janus's sample event handler.
 *  - extraPlugins: names of Debian plugins to load too (e.g. ['libjanus_echotest.so']).
 *  - withSfu: false to leave janus.plugin.sfu out.
 *  - files: { name: contents } extra files for the config folder (keys, JWKS...).
 *  - debugLevel: Janus debug_level (default 4, or JANUS_DEBUG_LEVEL).
 *  - ports: { ws, http, admin } to listen on (default: free ports); a restarted Janus passes janus.ports.
 */
export async function startJanus({
  pluginConfig = {}, legacyCfg = null, janusConfig = {}, eventHandler = null, extraPlugins = [], withSfu = true,
  files = {}, debugLevel = Number(process.env.JANUS_DEBUG_LEVEL ?? 4), iceEnforceList = 'v0', ports = null,
} = {}) {
  const libDir = findJanusLibDir();
  const base = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), 'sfu-e2e-janus-'));
  const confDir = join(base, 'conf');
  const pluginDir = join(base, 'plugins');
  const transportDir = join(base, 'transports');
  const loggerDir = join(base, 'loggers');
  const eventDir = join(base, 'events');
  for (const d of [confDir, pluginDir, transportDir, loggerDir, eventDir]) mkdirSync(d);

  if (withSfu && existsSync(pluginSo)) symlinkSync(pluginSo, join(pluginDir, 'libjanus_sfu.so'));
  for (const p of extraPlugins) symlinkSync(join(libDir, 'plugins', p), join(pluginDir, p));
  for (const t of ['libjanus_http.so', 'libjanus_websockets.so']) {
    symlinkSync(join(libDir, 'transports', t), join(transportDir, t));
  }
  if (eventHandler) symlinkSync(join(libDir, 'events', 'libjanus_sampleevh.so'), join(eventDir, 'libjanus_sampleevh.so'));

  const [wsPort, httpPort, adminPort] = ports ? [ports.ws, ports.http, ports.admin]
    : await Promise.all([freePort(), freePort(), freePort()]);
  const adminSecret = `e2e-${randomBytes(8).toString('hex')}`;
  const vars = {
    CONFDIR: confDir, PLUGINDIR: pluginDir, TRANSPORTDIR: transportDir, LOGGERDIR: loggerDir, EVENTDIR: eventDir,
    DEBUG_LEVEL: debugLevel, ADMIN_SECRET: adminSecret, ICE_ENFORCE_LIST: iceEnforceList,
    EVENTS_BROADCAST: eventHandler ? 'true' : 'false',
    HTTP_PORT: httpPort, ADMIN_PORT: adminPort, WS_PORT: wsPort, EVH_BACKEND: eventHandler?.backend ?? '',
    BIND_IP: janusHost,
  };
  const tpl = (name) => fill(readFileSync(join(templatesDir, name), 'utf8'), vars);
  writeFileSync(join(confDir, 'janus.jcfg'), mergeJcfg(tpl('janus.jcfg'), janusConfig));
  writeFileSync(join(confDir, 'janus.transport.http.jcfg'), tpl('janus.transport.http.jcfg'));
  writeFileSync(join(confDir, 'janus.transport.websockets.jcfg'), tpl('janus.transport.websockets.jcfg'));
  if (eventHandler) writeFileSync(join(confDir, 'janus.eventhandler.sampleevh.jcfg'), tpl('janus.eventhandler.sampleevh.jcfg'));
  if (legacyCfg !== null) writeFileSync(join(confDir, 'janus.plugin.sfu.cfg'), legacyCfg);
  else if (pluginConfig !== null) writeFileSync(join(confDir, 'janus.plugin.sfu.jcfg'), renderPluginJcfg(pluginConfig));
  for (const [name, contents] of Object.entries(files)) writeFileSync(join(confDir, name), contents);
  for (const p of extraPlugins) {
    const cfgName = `janus.plugin.${p.replace(/^libjanus_/, '').replace(/\.so$/, '')}.jcfg`;
    if (!existsSync(join(confDir, cfgName))) writeFileSync(join(confDir, cfgName), 'general: {\n}\n');
  }

  const logFile = join(base, 'janus.log');
  const logFd = openSync(logFile, 'a');
  const janusArgs = ['-F', confDir, '-C', join(confDir, 'janus.jcfg'), '-P', pluginDir, '-o'];
  // nsenter enters the server namespace and execs Janus: child.pid is Janus's pid either way.
  const [cmd, args] = janusNetns
    ? ['nsenter', [`--net=${janusNetns}`, '--', janusBin, ...janusArgs]] : [janusBin, janusArgs];
  const child = spawn(cmd, args, {
    cwd: confDir, stdio: ['ignore', logFd, logFd],
    // An ASan-built plugin needs the runtime preloaded into Janus: JANUS_LD_PRELOAD=$(gcc -print-file-name=libasan.so)
    env: process.env.JANUS_LD_PRELOAD ? { ...process.env, LD_PRELOAD: process.env.JANUS_LD_PRELOAD } : process.env,
  });
  closeSync(logFd);
  running.add(child);
  const exited = new Promise((res) => child.once('exit', (code, signal) => {
    running.delete(child);
    res({ code, signal });
  }));

  const httpUrl = `http://${janusHost}:${httpPort}/janus`;
  try {
    await waitReady(httpUrl, child, logFile, slack(15000));
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }

  let stopped = null;
  let finalLog = null;
  const cleanup = () => {
    try { finalLog = readFileSync(logFile, 'utf8'); } catch { finalLog = finalLog ?? ''; }
    if (!process.env.KEEP_JANUS_TMP) rmSync(base, { recursive: true, force: true });
    const report = sanitizerReport(finalLog);
    if (report === null) return;
    if (process.env.SFU_SANITIZER_REPORTS) {
      mkdirSync(process.env.SFU_SANITIZER_REPORTS, { recursive: true });
      writeFileSync(join(process.env.SFU_SANITIZER_REPORTS, `janus-${child.pid}.log`), finalLog);
    }
    throw new Error(`sanitizer report in janus.log:\n${report}`);
  };
  const janus = {
    wsUrl: `ws://${janusHost}:${wsPort}`,
    httpUrl,
    adminUrl: `http://${janusHost}:${adminPort}/admin`,
    host: janusHost,
    clientHost,
    adminSecret,
    ports: { ws: wsPort, http: httpPort, admin: adminPort },
    configDir: confDir,
    baseDir: base,
    logFile,
    pid: child.pid,
    logText: () => finalLog ?? readFileSync(logFile, 'utf8'),
    /**
     * Waits until janus.log holds every one of `needles` (strings or RegExps): Janus writes its log from a thread
     * of its own, so a line may land a moment after the event it reports. Resolves with the log text; rejects
     * after timeoutMs with the missing needles and the log's tail.
     */
    async waitLog(needles, timeoutMs = 5000) {
      const list = Array.isArray(needles) ? needles : [needles];
      const deadline = Date.now() + slack(timeoutMs);
      for (;;) {
        const text = finalLog ?? readFileSync(logFile, 'utf8');
        const missing = list.filter((n) => !(n instanceof RegExp ? n.test(text) : text.includes(n)));
        if (missing.length === 0) return text;
        if (Date.now() > deadline) {
          throw new Error(`janus.log lacks ${missing.map(String).join(', ')} after ${timeoutMs} ms:\n${text.slice(-2500)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
    /** Plugins Janus reports as loaded (GET /janus/info). */
    async plugins() {
      const info = await (await fetch(`${httpUrl}/info`)).json();
      return Object.keys(info.plugins ?? {});
    },
    /**
     * SIGTERM, SIGKILL after 3 s; resolves with { code, signal }. Keeps the temp dir if KEEP_JANUS_TMP is set.
     * Rejects when janus.log holds a sanitizer report.
     */
    stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), slack(3000));
          const r = await exited;
          clearTimeout(t);
          cleanup();
          return r;
        }
        const r = await exited;
        cleanup();
        return r;
      })();
      return stopped;
    },
  };
  return janus;
}

/** True when janus.plugin.sfu has been built. */
export function pluginBuilt() {
  return existsSync(pluginSo);
}
