// capacity.mjs - how many participants one Janus core holds: full-mesh rooms, ours next to VideoRoom (issues 11, 15)
//
//   node bench/capacity.mjs RESULTS_DIR        (bench/run-bench.sh calls it; make bench-capacity runs it alone)
//
// A room of N participants in full mesh, as naf-janus-adapter builds it: every participant publishes audio
// (AUDIO_PPS) + video (VIDEO_PPS) and subscribes to the N-1 others, one PeerConnection per subscription
// (sfu-bot --mesh N: N publishers, N(N-1) subscribers). Each probe is a fresh private Janus pinned to core
// JANUS_CPU with sfu-bot on core BOT_CPU, measured over CAP_SECONDS once every peer is up. A probe passes when
// every peer came up, delivery >= 99.9% and the p99 one-way delay < 50 ms.
//
// Search, per Janus setting x SRTP profile x plugin: start at the largest room found so far for that setting and
// plugin (CAP_MESH_START the first time); while probes pass, step up to the size that would load Janus's core to
// about 95% by the CPU the last probe used (at least CAP_MESH_STEP, at most 4 steps); after a failure step down
// (CAP_MESH_STEP, doubling); bisect the gap to one participant; then run the largest passing N again
// (CAP_CONFIRM times): a repeat that fails moves the limit down. Then the same for many rooms of CAP_ROOM_SIZE participants (one room at a time), for the default and
// the best event_loops setting found, ours and VideoRoom. Every probe's JSON is kept under capacity/, and the
// bottleneck of each limit is read from the first failing probe above it (Janus's threads, UDP drops, the bot).
//
// Environment (defaults in brackets):
//   CAP_SECONDS [10]            measurement window of one probe
//   CAP_LOOPS ["default 1 2"]   Janus settings: default = one event loop per handle; a number = event_loops
//   CAP_SRTP ["cm gcm"]         SRTP profiles, each forced on every leg (sfu-bot --srtp P --srtp-only)
//   CAP_PLUGINS ["sfu videoroom"]
//   CAP_MESH_START [12] CAP_MESH_STEP [2] CAP_MESH_MAX [40]
//   CAP_ROOMS [1]               0: skip the many-rooms search
//   CAP_ROOM_SIZE [8]  CAP_ROOMS_SRTP [gcm]  CAP_ROOMS_MAX [16]
//   CAP_CONFIRM [1]             repeats of the largest passing probe
//   CAP_SETTLE [3]              seconds of media between the last peer up and the window (sfu-bot --settle)
//   CAP_NOISE_RETRY [1]         a failing probe during which other processes took >= 15% of Janus's core is run
//                               again (once), and the repeat counts
//   CAP_PERF [1 if perf is installed]  profile Janus over each window (perf record -F 499, no call graphs) and
//                               give its CPU by library: kernel, SRTP (libsrtp2 + NSS), libc, GLib, libnice,
//                               Janus, the plugin
//   CAP_WAIT_IDLE [60]          before each probe, wait up to this many seconds for the machine to be idle
//                               (< 10% of its CPUs busy over 1 s); 0: do not wait
//   CAP_QUICK=1                 CAP_SECONDS=5 CAP_LOOPS="default 1" CAP_SRTP=gcm CAP_CONFIRM=0 (a few minutes)
//   JANUS_CPU [0] BOT_CPU [1] AUDIO_PPS [50] VIDEO_PPS [100]
//   CAP_AUTH_KEY, CAP_TOKEN_CMD  public key for janus.plugin.sfu and the token command of sfu-bot (run-bench.sh)
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, appendFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node bench/capacity.mjs RESULTS_DIR');
  process.exit(2);
}
const env = process.env;
const quick = env.CAP_QUICK === '1';
const num = (v, d) => (v === undefined || v === '' ? d : Number(v));
const list = (v, d) => (v ?? d).split(/\s+/).filter(Boolean);
const top = env.top_builddir ?? join(here, '..');
const opt = {
  seconds: num(env.CAP_SECONDS, quick ? 5 : 10),
  loops: list(env.CAP_LOOPS, quick ? 'default 1' : 'default 1 2'),
  srtp: list(env.CAP_SRTP, quick ? 'gcm' : 'cm gcm'),
  plugins: list(env.CAP_PLUGINS, 'sfu videoroom'),
  meshStart: num(env.CAP_MESH_START, 12),
  meshStep: num(env.CAP_MESH_STEP, 2),
  meshMax: num(env.CAP_MESH_MAX, 40),
  rooms: num(env.CAP_ROOMS, 1) !== 0,
  roomSize: num(env.CAP_ROOM_SIZE, 8),
  roomsSrtp: env.CAP_ROOMS_SRTP ?? 'gcm',
  roomsMax: num(env.CAP_ROOMS_MAX, 16),
  confirm: num(env.CAP_CONFIRM, quick ? 0 : 1),
  settle: num(env.CAP_SETTLE, 3),
  waitIdle: num(env.CAP_WAIT_IDLE, 60),
  perf: env.CAP_PERF ?? (spawnSync('sh', ['-c', 'command -v perf']).status === 0 ? '1' : '0'),
  noiseRetry: num(env.CAP_NOISE_RETRY, 1),
  janusCpu: env.JANUS_CPU ?? '0',
  botCpu: env.BOT_CPU ?? '1',
  audioPps: num(env.AUDIO_PPS, 50),
  videoPps: num(env.VIDEO_PPS, 100),
};
const bot = env.SFU_BOT ?? join(top, 'tools/sfu-bot/sfu-bot');
const withJanus = join(here, '../tests/bot/with-janus.sh');
const dir = join(out, 'capacity');
mkdirSync(dir, { recursive: true });
const logFile = join(out, 'capacity.log');
const log = (line) => {
  console.log(line);
  appendFileSync(logFile, line + '\n');
};

const MIN_DELIVERED = 99.9;
const MAX_P99_MS = 50;
const loopsName = (l) => (l === 'default' ? 'default (a loop per handle)' : `event_loops = ${l}`);

// ---------------------------------------------------------------------------------------------------------
// One probe: a fresh Janus, one sfu-bot run, a compact record
// ---------------------------------------------------------------------------------------------------------

const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);

function record(j, meta) {
  const roles = j.roles ?? {};
  const started = sum(Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, v.started])));
  const up = sum(Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, v.up])));
  const classes = j.janus_threads?.classes ?? [];
  const loopClass = classes.find((c) => c.name === 'hloop') ?? classes[0];
  const cpus = j.machine_load?.cpus ?? [];
  const janusCore = cpus.find((c) => String(c.cpu) === String(opt.janusCpu));
  const botCore = cpus.find((c) => String(c.cpu) === String(opt.botCpu));
  const failKinds = {};
  for (const r of Object.values(roles))
    for (const k of ['failed_signalling', 'failed_ice', 'failed_dtls', 'bad_answer', 'timeouts'])
      if (r[k]) failKinds[k] = (failKinds[k] ?? 0) + r[k];
  const rec = {
    ...meta,
    started,
    up,
    fail_kinds: failKinds,
    delivered_pct: j.delivery?.delivered_pct ?? 0,
    lost: j.delivery?.lost ?? null,
    p50_ms: j.media?.delay_p50_ms ?? null,
    p99_ms: j.media?.delay_p99_ms ?? null,
    late_50ms_per_s: j.media?.late_50ms_per_s ?? [],
    forwarded_pps: j.window_s ? (j.bot?.window_rx_packets ?? 0) / j.window_s : 0,
    us_per_fwd: j.janus?.cpu_us_per_forwarded_packet ?? null,
    janus_cpu_pct: j.janus?.cpu_pct ?? null,
    bot_cpu_pct: j.window_s ? (j.bot?.cpu_us ?? 0) / j.window_s / 1e4 : null,
    bot_us_per_rx: j.bot?.cpu_us_per_rx_packet ?? null,
    srtp_profiles: j.bot?.srtp_profiles ?? null,
    janus_threads: j.janus_threads?.threads ?? null,
    loop_class: loopClass && { name: loopClass.name, threads: loopClass.threads, cpu_pct: loopClass.cpu_pct,
      max_thread_cpu_pct: loopClass.max_thread_cpu_pct, involuntary_switches_per_s: j.window_s ? loopClass.involuntary_switches / j.window_s : null },
    thread_classes: classes.filter((c) => c.cpu_pct >= 0.5).map((c) => ({ name: c.name, threads: c.threads, cpu_pct: c.cpu_pct, max_thread_cpu_pct: c.max_thread_cpu_pct })),
    janus_socket_drops: j.net?.janus_socket_drops ?? null,
    bot_socket_drops: j.net?.bot_socket_drops ?? null,
    udp_rcvbuf_errors: j.net?.udp_snmp?.RcvbufErrors ?? null,
    udp_in_errors: j.net?.udp_snmp?.InErrors ?? null,
    load: {
      loadavg_start: j.machine_load?.loadavg_start ?? null,
      loadavg_end: j.machine_load?.loadavg_end ?? null,
      // process time on each core (interrupts and softirqs, where the network stack works for our packets, apart)
      janus_core_busy_pct: janusCore ? janusCore.busy_pct - (janusCore.irq_pct ?? 0) : null,
      bot_core_busy_pct: botCore ? botCore.busy_pct - (botCore.irq_pct ?? 0) : null,
      janus_core_irq_pct: janusCore?.irq_pct ?? null,
      steal_pct: cpus.length ? Math.max(...cpus.map((c) => c.steal_pct)) : null,
      others_cpu_pct: j.machine_load?.other_processes_cpu_pct ?? null,
      others_top: (j.machine_load?.other_processes ?? []).slice(0, 3).map((p) => `${p.name} ${p.cpu_pct.toFixed(0)}%`),
    },
  };
  rec.pass = rec.up === rec.started && rec.started > 0 && rec.delivered_pct >= MIN_DELIVERED && rec.p99_ms !== null && rec.p99_ms < MAX_P99_MS;
  return rec;
}

// Inside with-janus.sh: the bot (stderr to $1), and with $2 a perf profile of Janus over the window ($3 s from the
// bot's "measuring for" line); the bot's command line follows.
const PROBE_SH = `err=$1 perfdata=$2 win=$3
shift 3
"$@" --watch-pid "$JANUS_PID" 2>"$err" &
b=$!
if [ -n "$perfdata" ]; then
	(until grep -q "measuring for" "$err" 2>/dev/null; do kill -0 $b 2>/dev/null || exit 0; sleep 0.1; done
	exec perf record -q -F 499 -p "$JANUS_PID" -o "$perfdata" -- sleep "$win") >/dev/null 2>&1 &
	p=$!
fi
wait $b
s=$?
[ -z "$perfdata" ] || wait $p
exit $s`;

// Janus's CPU by library over the window, in groups that say what the work is
const PROFILE_GROUPS = [
  ['kernel', /kernel|^\[unknown\]$/],
  ['SRTP', /libsrtp|libsoftokn|libfreebl|libnss|libnspr|libplc|libplds|libcrypto/],
  ['libc', /^libc[.-]|libpthread|\[vdso\]/],
  ['GLib', /libglib|libgobject|libgio/],
  ['libnice', /libnice/],
  ['Janus core', /^janus$/],
  ['janus.plugin.sfu', /libjanus_sfu/],
  ['VideoRoom', /libjanus_videoroom/],
  ['HTTP', /libjanus_http|libmicrohttpd/],
];
function profileOf(perfPath) {
  const r = spawnSync('perf', ['report', '-i', perfPath, '--no-children', '--sort', 'dso', '--stdio', '-g', 'none'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const groups = Object.fromEntries([...PROFILE_GROUPS.map(([g]) => [g, 0]), ['other', 0]]);
  let samples = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(\S+)/.exec(line);
    if (m) {
      const g = PROFILE_GROUPS.find(([, re]) => re.test(m[2]))?.[0] ?? 'other';
      groups[g] += Number(m[1]);
    }
    const n = /^# Samples: ([\d.]+)([KM]?) /.exec(line);
    if (n) samples = Math.round(Number(n[1]) * ({ K: 1e3, M: 1e6 }[n[2]] ?? 1));
  }
  return { samples, groups };
}
const profileText = (p) => Object.entries(p.groups).filter(([, v]) => v >= 0.05)
  .sort((a, b) => b[1] - a[1]).map(([g, v]) => `${g} ${v >= 10 ? v.toFixed(0) : v.toFixed(1)}%`).join(', ');

// busy share of all CPUs over the next second (/proc/stat)
function busyShare() {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  const b = read();
  const d = b.map((v, i) => v - a[i]);
  const idle = d[3] + d[4];
  const total = d.slice(0, 8).reduce((x, y) => x + y, 0);
  return total > 0 ? 1 - idle / total : 0;
}

// waits (at most opt.waitIdle s) until less than 10% of the machine is busy; returns the seconds waited
function waitIdle() {
  const t = Date.now();
  while (opt.waitIdle > 0 && busyShare() >= 0.1 && Date.now() - t < opt.waitIdle * 1000);
  return (Date.now() - t) / 1000;
}

let probeCount = 0;
const t0 = Date.now();

function probe({ plugin, loops, srtp, participants, mesh }) {
  const tag = `${mesh === participants ? 'mesh' : `rooms${mesh}`}-${loops}-${srtp}-${plugin}-${participants}`;
  const jsonPath = join(dir, `${tag}-${++probeCount}.json`);
  const janusOpts = ['--cpu', opt.janusCpu, '--debug', '2', '--event-loops', loops === 'default' ? '0' : loops];
  const botOpts = ['--url', 'http://127.0.0.1:8088/janus', '--plugin', plugin, '--srtp', srtp, '--srtp-only',
    '-P', String(participants), '--mesh', String(mesh), '--audio-pps', String(opt.audioPps),
    '--video-pps', String(opt.videoPps), '-d', String(opt.seconds), '--json', jsonPath, '--timeout', '20',
    '--ramp-timeout', '90', '--settle', String(opt.settle)];
  if (plugin === 'sfu' && env.CAP_AUTH_KEY && env.CAP_TOKEN_CMD) {
    janusOpts.push('--auth-key', env.CAP_AUTH_KEY);
    botOpts.push('--token-cmd', env.CAP_TOKEN_CMD);
  }
  const waited = waitIdle();
  const started = Date.now();
  const errPath = jsonPath.replace(/\.json$/, '.err');
  const perfPath = opt.perf === '1' ? jsonPath.replace(/\.json$/, '.perf') : '';
  let res;
  for (let attempt = 0; attempt < 2; attempt++) {
    res = spawnSync(withJanus, [...janusOpts, '--', 'sh', '-c', PROBE_SH, 'probe', errPath, perfPath,
      String(Math.max(1, opt.seconds - 0.5)), 'taskset', '-c', opt.botCpu, bot, ...botOpts],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: (opt.seconds + 180) * 1000,
      env: { ...env, SFU_PLUGIN_SO: env.SFU_PLUGIN_SO ?? join(top, 'plugins/.libs/libjanus_sfu.so') } });
    if (existsSync(jsonPath)) break;
    const err = existsSync(errPath) ? readFileSync(errPath, 'utf8') : '';
    log(`   probe ${tag}: no result (status ${res.status}): ${(res.stderr + err).trim().split('\n').slice(-3).join(' / ')}; retrying`);
  }
  const meta = { plugin, loops, srtp, participants, mesh, rooms: participants / mesh, wall_s: (Date.now() - started) / 1000, waited_idle_s: waited, file: jsonPath.slice(out.length + 1) };
  if (!existsSync(jsonPath))
    return { ...meta, pass: false, error: 'no result', started: 0, up: 0 };
  const rec = record(JSON.parse(readFileSync(jsonPath, 'utf8')), meta);
  rec.profile = perfPath && existsSync(perfPath) ? profileOf(perfPath) : null;
  if (perfPath && existsSync(perfPath) && env.CAP_KEEP_PERF !== '1') rmSync(perfPath); // CAP_KEEP_PERF=1 keeps it
  const f = (v, d = 1) => (v === null || v === undefined ? 'n/a' : Number(v).toFixed(d));
  log(`   ${rec.pass ? 'pass' : 'FAIL'} N=${participants}${mesh !== participants ? ` (${participants / mesh} rooms of ${mesh})` : ''}: ` +
    `up ${rec.up}/${rec.started}, delivered ${f(rec.delivered_pct, 3)}%, p50 ${f(rec.p50_ms, 2)} ms, p99 ${f(rec.p99_ms, 2)} ms, ` +
    `${f(rec.forwarded_pps, 0)} fwd/s, Janus ${f(rec.janus_cpu_pct)}% (${f(rec.us_per_fwd)} us/fwd; ${rec.loop_class?.threads ?? '?'} loop threads ` +
    `${f(rec.loop_class?.cpu_pct)}%, busiest ${f(rec.loop_class?.max_thread_cpu_pct)}%), bot ${f(rec.bot_cpu_pct)}%, ` +
    `drops J/B ${rec.janus_socket_drops}/${rec.bot_socket_drops}; ${rec.profile ? `perf: ${profileText(rec.profile)}; ` : ''}load ${f(rec.load.loadavg_start, 2)}, ` +
    `others ${f(rec.load.others_cpu_pct)}% [${rec.load.others_top.join(', ')}] (${f(rec.wall_s, 0)} s` +
    `${rec.waited_idle_s >= 1.5 ? `, after waiting ${f(rec.waited_idle_s, 0)} s for an idle machine` : ''})`);
  return rec;
}

// ---------------------------------------------------------------------------------------------------------
// Search and bottleneck
// ---------------------------------------------------------------------------------------------------------

// search(first, step, min, max, run, predict): run(n) -> record; predict(passing record) -> the size that would
// load Janus's core to about 95% (from the CPU it used), so that the walk up takes big steps while Janus is idle
// and small ones near its limit. Returns { best, firstFail, probes }.
function search(first, step, min, max, run, predict) {
  const probes = [];
  const go = (n) => {
    let r = run(n);
    if (!r.pass && opt.noiseRetry > 0 && noiseOf(r) >= 15) {
      log(`   (other processes took ${noiseOf(r).toFixed(0)}% of Janus's core: running it again)`);
      probes.push({ ...r, superseded: true });
      r = run(n);
    }
    probes.push(r);
    return r;
  };
  let n = Math.min(Math.max(first, min), max);
  let lo = min - 1, hi = max + 1; // lo: largest pass seen, hi: smallest fail seen
  let r = go(n);
  if (r.pass) {
    lo = n;
    while (lo < max) {
      const next = Math.min(max, Math.max(lo + step, Math.min(lo + 4 * step, predict(r) ?? lo + step)));
      r = go(next);
      if (!r.pass) {
        hi = next;
        break;
      }
      lo = next;
    }
  } else {
    hi = n;
    for (let d = step; hi > min; d *= 2) {
      const next = Math.max(min, hi - d);
      if (go(next).pass) {
        lo = next;
        break;
      }
      hi = next;
    }
  }
  while (hi - lo > 1) {
    const m = Math.floor((lo + hi) / 2);
    if (go(m).pass) lo = m;
    else hi = m;
  }
  // confirm: the limit must pass again; a failed repeat moves it down
  for (let c = 0; c < opt.confirm && lo >= min; c++) {
    if (go(lo).pass) continue;
    hi = lo;
    lo--;
    while (lo >= min && !go(lo).pass) hi = lo--;
  }
  const counted = probes.filter((p) => !p.superseded);
  const best = lo >= min ? counted.filter((p) => p.key === lo && p.pass).at(-1) : null;
  const firstFail = counted.filter((p) => p.key === hi && !p.pass).at(-1) ??
    counted.filter((p) => p.key > lo && !p.pass).sort((a, b) => a.key - b.key)[0] ?? null;
  return { best, firstFail, probes };
}

// forwarded packets/s that would load Janus's core to 95%, from a passing probe
const fwdAt95 = (r) => (r.janus_cpu_pct > 1 ? (r.forwarded_pps * 95) / r.janus_cpu_pct : null);
const pps = () => opt.audioPps + opt.videoPps;
// one room of N: N(N-1) streams
const predictMesh = (r) => {
  const f = fwdAt95(r);
  return f ? Math.floor((1 + Math.sqrt(1 + (4 * f) / pps())) / 2) : null;
};
// k rooms of S: k S(S-1) streams
const predictRooms = (r) => {
  const f = fwdAt95(r);
  return f ? Math.floor(f / (opt.roomSize * (opt.roomSize - 1) * pps())) : null;
};

const f1 = (v) => Number(v).toFixed(0);
// process time on Janus's core that was not Janus's: other processes
const noiseOf = (r) => Math.max(0, (r.load?.janus_core_busy_pct ?? 0) - (r.janus_cpu_pct ?? 0));

// What stopped it: read from the first failing probe above the limit.
function bottleneck(fail) {
  if (!fail) return 'none found below the search maximum';
  if (fail.error) return `probe failed: ${fail.error}`;
  const parts = [];
  const cpu = fail.janus_cpu_pct ?? 0;
  const noise = noiseOf(fail);
  const botNoise = Math.max(0, (fail.load?.bot_core_busy_pct ?? 0) - (fail.bot_cpu_pct ?? 0));
  if (noise >= 15 || botNoise >= 30)
    parts.push(`machine noise (re-run on an idle machine): other processes took ${f1(noise)}% of Janus's core and ${f1(botNoise)}% of the bot's`);
  if (fail.up < fail.started)
    parts.push(`setup: ${fail.started - fail.up} of ${fail.started} peers did not come up (${Object.entries(fail.fail_kinds).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  if (fail.bot_cpu_pct >= 85 || fail.bot_socket_drops > 0)
    parts.push(`client: sfu-bot at ${f1(fail.bot_cpu_pct)}% of its core, ${fail.bot_socket_drops} drops on its sockets`);
  if (fail.janus_socket_drops > 0)
    parts.push(`network queue: ${fail.janus_socket_drops} datagrams dropped on Janus's full UDP receive buffers`);
  const lc = fail.loop_class;
  if (cpu >= 90) {
    parts.push(lc && lc.threads > 1
      ? `CPU: Janus's core saturated (${f1(cpu)}%), ${f1(lc.cpu_pct)}% in ${lc.threads} media loop threads ("${lc.name}", busiest ${f1(lc.max_thread_cpu_pct)}%)`
      : `CPU: Janus's core saturated (${f1(cpu)}%), ${f1(lc?.cpu_pct ?? cpu)}% in its one media loop thread ("${lc?.name ?? '?'}")`);
  } else if (lc && lc.max_thread_cpu_pct >= 90) {
    parts.push(`CPU: one media loop thread saturated (${f1(lc.max_thread_cpu_pct)}%)`);
  } else {
    const lateSeconds = (fail.late_50ms_per_s ?? []).filter((n) => n > 0).length;
    if (fail.delivered_pct >= MIN_DELIVERED && lateSeconds > 0 && lateSeconds <= 2)
      parts.push(`one stall: every late packet within ${lateSeconds} s of the window`);
    if (lc && lc.threads > 1)
      parts.push(`delay before saturation: Janus at ${f1(cpu)}%, ${lc.threads} loop threads time-sharing one core ` +
        `(${f1(lc.involuntary_switches_per_s)} preemptions/s)`);
    else parts.push(`delay before saturation: Janus at ${f1(cpu)}%`);
  }
  if (fail.profile) parts.push(`Janus's CPU by code (perf): ${profileText(fail.profile)}`);
  return parts.join('; ');
}

function summarizeSearch(kind, conf, s) {
  const b = s.best, ff = s.firstFail;
  return {
    kind, ...conf,
    largest: b?.participants ?? 0,
    rooms: b?.rooms ?? 0,
    delivered_pct: b?.delivered_pct ?? null,
    p50_ms: b?.p50_ms ?? null,
    p99_ms: b?.p99_ms ?? null,
    us_per_fwd: b?.us_per_fwd ?? null,
    janus_cpu_pct: b?.janus_cpu_pct ?? null,
    forwarded_pps: b?.forwarded_pps ?? null,
    profile: b?.profile ?? null,
    first_fail: ff && { participants: ff.participants, delivered_pct: ff.delivered_pct, p99_ms: ff.p99_ms, janus_cpu_pct: ff.janus_cpu_pct, up: ff.up, started: ff.started },
    bottleneck: bottleneck(ff),
    load_at_limit: b?.load ?? null,
    probes: s.probes.map(({ key, ...p }) => p),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------------------

const results = { options: opt, criteria: { min_delivered_pct: MIN_DELIVERED, max_p99_ms: MAX_P99_MS }, searches: [] };
const save = () => writeFileSync(join(out, 'capacity.json'), JSON.stringify(results, null, 2) + '\n');
log(`capacity: full-mesh rooms, ${opt.audioPps}+${opt.videoPps} packets/s per publisher, ${opt.seconds} s per probe; ` +
  `pass = all peers up, delivered >= ${MIN_DELIVERED}%, p99 < ${MAX_P99_MS} ms`);

const lastBest = {};
for (const loops of opt.loops) {
  for (const srtp of opt.srtp) {
    for (const plugin of opt.plugins) {
      log(`== capacity: one room, ${plugin}, ${loopsName(loops)}, SRTP ${srtp}`);
      const conf = { plugin, loops, srtp };
      const s = search(lastBest[`${loops}-${plugin}`] ?? lastBest[plugin] ?? opt.meshStart, opt.meshStep, 2, opt.meshMax,
        (n) => ({ key: n, ...probe({ ...conf, participants: n, mesh: n }) }), predictMesh);
      const r = summarizeSearch('mesh', conf, s);
      if (r.largest > 0) lastBest[`${loops}-${plugin}`] = lastBest[plugin] = r.largest;
      log(`   => ${r.largest} participants; ${r.bottleneck}`);
      results.searches.push(r);
      save();
    }
  }
}

// The recommended setting: the event_loops value with the largest rooms of ours (ties: the fewer loops).
const meshOf = (loops, plugin) => results.searches.filter((x) => x.kind === 'mesh' && x.loops === loops && x.plugin === plugin);
const score = (loops) => meshOf(loops, 'sfu').reduce((a, x) => a + x.largest, 0);
const tuned = opt.loops.filter((l) => l !== 'default').sort((a, b) => score(b) - score(a) || Number(a) - Number(b))[0];
results.recommended_loops = tuned ?? null;
log(`recommended: ${tuned ? loopsName(tuned) : 'n/a'}`);

if (opt.rooms) {
  const roomLoops = ['default', tuned].filter((l, i, a) => l !== undefined && opt.loops.includes(l) && a.indexOf(l) === i);
  for (const loops of roomLoops) {
    for (const plugin of opt.plugins) {
      const srtp = opt.roomsSrtp;
      log(`== capacity: rooms of ${opt.roomSize}, ${plugin}, ${loopsName(loops)}, SRTP ${srtp}`);
      const conf = { plugin, loops, srtp, room_size: opt.roomSize };
      // start where one big room of the same setting ended: the same number of forwarded streams
      const one = meshOf(loops, plugin).find((x) => x.srtp === srtp) ?? meshOf(loops, plugin)[0];
      const k = one ? Math.max(1, Math.round((one.largest * (one.largest - 1)) / (opt.roomSize * (opt.roomSize - 1)))) : 2;
      const s = search(k, 1, 1, opt.roomsMax,
        (rooms) => ({ key: rooms, ...probe({ ...conf, participants: rooms * opt.roomSize, mesh: opt.roomSize }) }),
        predictRooms);
      const r = summarizeSearch('rooms', conf, s);
      log(`   => ${r.largest} participants in ${r.rooms} rooms; ${r.bottleneck}`);
      results.searches.push(r);
      save();
    }
  }
}
results.probes = probeCount;
results.wall_s = (Date.now() - t0) / 1000;
save();
log(`capacity: ${probeCount} probes in ${(results.wall_s / 60).toFixed(1)} min`);
