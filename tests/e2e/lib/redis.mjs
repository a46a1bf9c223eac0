// redis.mjs - a private redis-server (Debian's) for the tests of the Redis state backend, and a tiny RESP client.
//
//   const redis = await startRedis();            // in the server namespace of scripts/netns.sh, next to Janus
//   redis.url                                     // redis://10.99.0.1:PORT (what the plugin's redis_url gets)
//   await redis.command('TTL', 'sfu:ban:...');    // RESP client from the test process
//   await redis.stop(); await redis.start();      // stopped and started again mid-test (same port, no persistence)
//
// Like Janus (lib/janus.mjs), redis-server runs inside the server namespace (nsenter --net=$SFU_JANUS_NETNS) and
// binds SFU_JANUS_IP; outside the test network it binds 127.0.0.1. It keeps nothing on disk (save "", no AOF):
// a restart empties it, which is the worst case for the nodes (docs/SCALING.md: they write their state back).
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, janusHost, janusNetns } from './janus.mjs';

export const redisBin = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** One RESP command over a fresh connection; resolves with the decoded reply (errors reject). */
export function redisCommand(host, port, ...args) {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host, port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('redis: timeout')); }, 5000);
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('connect', () => {
      const parts = [`*${args.length}\r\n`];
      for (const a of args) {
        const b = Buffer.from(String(a));
        parts.push(`$${b.length}\r\n`, b, '\r\n');
      }
      for (const p of parts) sock.write(p);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parse(buf, 0);
      if (!r) return;
      clearTimeout(timer);
      sock.end();
      if (r.value instanceof Error) reject(r.value); else resolve(r.value);
    });
  });
}

/** Parses one RESP value at `i`: { value, next } or null when incomplete. */
function parse(buf, i) {
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const line = buf.toString('utf8', i + 1, eol);
  const t = String.fromCharCode(buf[i]);
  if (t === '+') return { value: line, next: eol + 2 };
  if (t === '-') return { value: new Error(line), next: eol + 2 };
  if (t === ':') return { value: Number(line), next: eol + 2 };
  if (t === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, next: eol + 2 };
    if (buf.length < eol + 2 + n + 2) return null;
    return { value: buf.toString('utf8', eol + 2, eol + 2 + n), next: eol + 2 + n + 2 };
  }
  if (t === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, next: eol + 2 };
    const out = [];
    let at = eol + 2;
    for (let k = 0; k < n; k++) {
      const r = parse(buf, at);
      if (!r) return null;
      out.push(r.value);
      at = r.next;
    }
    return { value: out, next: at };
  }
  throw new Error(`redis: unexpected reply type ${t}`);
}

/** Starts redis-server; the returned object can stop() and start() it again on the same port. */
export async function startRedis({ args = [] } = {}) {
  const base = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), 'sfu-e2e-redis-'));
  const port = await freePort();
  const logFile = join(base, 'redis.log');
  let child = null;
  let exited = null;
  const redis = {
    host: janusHost,
    port,
    url: `redis://${janusHost}:${port}`,
    logText: () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } },
    command: (...a) => redisCommand(janusHost, port, ...a),
    alive: () => child !== null && child.exitCode === null && child.signalCode === null,
    async start() {
      const fd = openSync(logFile, 'a');
      const redisArgs = ['--port', String(port), '--bind', janusHost, '--save', '', '--appendonly', 'no',
        '--dir', base, '--protected-mode', 'no', ...args];
      const [cmd, cargs] = janusNetns ? ['nsenter', [`--net=${janusNetns}`, '--', redisBin, ...redisArgs]]
        : [redisBin, redisArgs];
      child = spawn(cmd, cargs, { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      exited = new Promise((r) => child.once('exit', r));
      const deadline = Date.now() + 10000;
      for (;;) {
        try {
          if ((await redis.command('PING')) === 'PONG') return redis;
        } catch { /* not yet */ }
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`redis-server did not start:\n${redis.logText().slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** SIGKILL by default: Redis gone at once, as when its host dies (no goodbye to clients but the FIN). */
    async stop(signal = 'SIGKILL') {
      if (!redis.alive()) return;
      child.kill(signal);
      await exited;
    },
    async remove() {
      await redis.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
  await redis.start();
  process.on('exit', () => { try { child?.kill('SIGKILL'); } catch { /* gone */ } });
  return redis;
}
