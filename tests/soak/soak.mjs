// soak.mjs - a long run of a real Janus with janus.plugin.sfu and tokens, media flowing and every kind of churn
// (issue 11). `make soak` runs it for 30 minutes; tests/soak/soak.test.mjs runs 2 minutes in the test command.
//
//   scripts/netns.sh node tests/soak/soak.mjs [--duration SECONDS] [--out DIR]
//
// What runs (tests/soak/actors.mjs has the clients):
//  - stable participants: one sfu-bot process (2 publishers x 2 subscribers, audio + video, real ICE/DTLS-SRTP)
//    in the main room for the whole run; its --progress lines give delivered fraction and one-way delay;
//  - churn: naf-style members over WebSocket (offer, join with 8-40 s tokens, subscribe, data, block/unblock,
//    refresh or expiry, graceful leave or dropped socket), an owner who kicks them (their rejoin must be refused),
//    HTTP create/attach/join/detach/destroy cycles back to back (returning users; some sessions abandoned to
//    Janus's session timeout),
//    hostile clients (invalid tokens, malformed requests, requests before a join, handles that vanish mid-join,
//    peers whose ICE never completes);
//  - faults: a flood of joins with forged tokens (refusals per second and per CPU core, stable delivery during
//    it), client processes killed with SIGKILL mid-join (Node and sfu-bot), sfu-bot peers whose DTLS never
//    completes, and Janus restarted under load (members reconnect under the same names; no ghost, correct
//    `users` lists afterwards).
//
// Every sample (2 s, or 5 s for runs over 5 minutes) records Janus's RSS, CPU and threads, sessions and handles
// (admin API), the plugin's rooms, users and handles, the clients' own count, stable delivery and delay, and
// counts of refusals and errors by kind. Results: DIR/samples.csv, DIR/soak.json, DIR/summary.md and
// DIR/rss-handles.png (gnuplot).
//
// The run FAILS on: a Janus crash; RSS or the heap in use (tests/soak/heapstat.c) growing from the end of
// warm-up to the restart by more than MEM_PER_HANDLE bytes per handle created plus MEM_NOISE (Theil-Sen slope
// times the window); a ghost (a user the plugin still lists that no client holds, past its grace), a
// missing user, or more plugin handles for a user than the core has, lasting PERSIST_MS; handles or sessions
// left once every client is gone and Janus's session timeout has passed; stable delivery under 99.9%; a
// stable peer failing; and protocol violations (an invalid token accepted, a kicked user back in, no ejection
// at expiry, a request never answered).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startJanus, pluginBuilt, topSrcDir } from '../e2e/lib/janus.mjs';
import { adminClient } from '../e2e/lib/admin.mjs';
import { makeKeys, joinToken } from '../e2e/lib/jwt.mjs';
import { rssKb, cpuTicks } from '../e2e/lib/http.mjs';
import { BotProc, Counter, Model, botBuilt, deliveryBetween, sleep } from './lib.mjs';
import { member, owner, httpChurner, hostile, flood, nodeVictim, botVictim, stallPeer } from './actors.mjs';

// Memory after warm-up: the Theil-Sen slope (median of the pairwise slopes: a transient spike of the live
// population or one allocator step does not tilt it) of RSS and of the heap in use over the window, times the
// window, may not exceed PER_HANDLE bytes per handle created in it plus NOISE bytes. PER_HANDLE: Janus 1.1.2
// itself loses 24-48 B per SDP offer it answers (janus_sdp_get_codec_pt_full), and bounded caches (verified
// tokens, bans) fill slowly; a leaked core session was ~2,200 B. NOISE: allocator steps and the swing of the
// live population (each PeerConnection holds ~100 KB); it bounds a short run to gross leaks and vanishes from a
// long run's slope (6 MiB over 19 minutes is 5.5 KB/s).
export const MEM_PER_HANDLE = 64;
export const MEM_NOISE = 6 * 1024 * 1024;
export const MIN_DELIVERY_PCT = 99.9;
const PERSIST_MS = 6000;
const here = dirname(fileURLToPath(import.meta.url));

/**
 * Builds tests/soak/heapstat.c and arranges for every Janus started from now on to load it (JANUS_LD_PRELOAD,
 * after an ASan runtime if one is there) and write its malloc accounting to `file`. Returns false (and the
 * soak goes on with RSS alone) when there is no C compiler; else the folder of the probe, to remove at the end.
 */
function installHeapProbe(file) {
  const dir = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), 'sfu-soak-heapstat-'));
  const so = join(dir, 'heapstat.so');
  const r = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', so, join(here, 'heapstat.c'), '-pthread'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  process.env.JANUS_LD_PRELOAD = [process.env.JANUS_LD_PRELOAD, so].filter(Boolean).join(' ');
  process.env.SOAK_HEAP_FILE = file;
  return dir;
}

/** [bytes in use, bytes held] from the heap probe's file, or ['', ''] (stale after a restart until rewritten). */
function readHeap(file) {
  try {
    const [inuse, held] = readFileSync(file, 'utf8').trim().split(' ').map(Number);
    return [inuse, held];
  } catch {
    return ['', ''];
  }
}

const clamp = (x, a, b) => Math.min(b, Math.max(a, x));

/** The timeline of a run of durationS seconds. */
export function soakConfig(durationS, over = {}) {
  const T = durationS;
  return {
    durationS: T,
    sampleS: T <= 300 ? 2 : 5,
    statusEveryS: T <= 300 ? 10 : 60,
    warmupS: clamp(T / 3, 50, 300),
    floodAtS: clamp(0.1 * T, 12, 180),
    floodS: clamp(0.1 * T, 10, 60),
    restartAtS: 0.8 * T,
    // Janus holds an HTTP long-poll up to 30 s and only its start counts as activity: a session that gets no
    // event (sfu-bot's subscribers) would time out under 30 s.
    sessionTimeoutS: 40,
    kickBanS: 8,
    members: 8,
    http: 2,
    httpPauseMs: 0, // HTTP join cycles back to back: most of the handles, so a per-handle leak shows quickly
    hostiles: 2,
    kickEveryS: T <= 300 ? 6 : 10,
    nodeVictimEveryS: 4,
    botVictimEveryS: 8,
    stallEveryS: 30,
    stallLifeS: 30,
    stable: { publishers: 2, subscribers: 2, audioPps: 50, videoPps: 50 },
    ...over,
  };
}

/**
 * What the admin API says: sessions, handles, the plugin's rooms/participants/handles, stats; and, from
 * handle_info of every core handle, how many handles the core has per (room, user) of the plugin.
 */
async function adminView(admin) {
  const sessions = (await admin.listSessions()).sessions ?? [];
  const handles = new Set();
  const coreByUser = new Map(); // "room/user" -> handles the core has whose plugin data says so
  await Promise.all(sessions.map(async (s) => {
    const r = await admin.listHandles(s).catch(() => null);
    await Promise.all((r?.handles ?? []).map(async (h) => {
      handles.add(h);
      const info = (await admin.handleInfo(s, h).catch(() => null))?.info?.plugin_specific;
      if (info?.room_id !== undefined) {
        const k = `${info.room_id}/${info.user_id}`;
        coreByUser.set(k, (coreByUser.get(k) ?? 0) + 1);
      }
    }));
  }));
  const rooms = (await admin.messagePlugin({ request: 'list_rooms' })).response?.rooms ?? [];
  const participants = new Map(); // room -> Map(user -> [handle ids])
  await Promise.all(rooms.map(async (r) => {
    const p = await admin.messagePlugin({ request: 'list_participants', room_id: r.room_id });
    const m = new Map();
    for (const x of p.response?.participants ?? []) m.set(x.user_id, (x.handles ?? []).map((h) => h.id));
    participants.set(r.room_id, m);
  }));
  const stats = (await admin.messagePlugin({ request: 'stats' })).response ?? null;
  let pluginHandles = 0;
  let pluginUsers = 0;
  for (const m of participants.values()) {
    pluginUsers += m.size;
    for (const hs of m.values()) pluginHandles += hs.length;
  }
  return { sessions: sessions.length, handles, coreByUser, rooms, participants, pluginHandles, pluginUsers, stats };
}

/** Theil-Sen slope: the median of the slopes between every pair of points (0 with fewer than 2). */
export function medianSlope(xs, ys) {
  const m = [];
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) if (xs[j] !== xs[i]) m.push((ys[j] - ys[i]) / (xs[j] - xs[i]));
  }
  if (!m.length) return 0;
  m.sort((a, b) => a - b);
  return m.length % 2 ? m[(m.length - 1) / 2] : (m[m.length / 2 - 1] + m[m.length / 2]) / 2;
}

/** Threads, anonymous and file-backed resident KiB (/proc/PID/status) and open files of a process; zeros when it is gone. */
function statusOf(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st)?.[1] ?? 0);
    return { threads: get('Threads'), anon: get('RssAnon'), file: get('RssFile'), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { threads: 0, anon: 0, file: 0, fds: 0 };
  }
}

export async function runSoak(options = {}) {
  const cfg = soakConfig(options.durationS ?? 1800, options.config);
  const outDir = resolve(options.outDir ?? join(tmpdir(), `sfu-soak-${Date.now()}`));
  mkdirSync(outDir, { recursive: true });
  const log = options.log ?? ((s) => console.log(s));
  const t0 = Date.now();
  const tS = () => (Date.now() - t0) / 1000;
  const mmss = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

  // ---------------------------------------------------------------- context
  let stopResolve;
  const ctx = {
    cfg,
    keys: makeKeys(),
    otherKeys: makeKeys(),
    rooms: { main: 'soak-main', sides: ['soak-side-0', 'soak-side-1', 'soak-side-2'] },
    model: new Model(),
    counts: new Counter(),
    errors: new Counter(),
    violations: [],
    notes: [],
    rejoined: new Set(),
    kills: new Map(), // "room|user" -> { kind, at, seen }: clients killed or vanished, until the plugin drops them
    killResults: [],
    stallResults: [],
    epoch: 0,
    restarting: false,
    up: Promise.resolve(),
    stopping: false,
    stopped: new Promise((r) => { stopResolve = r; }),
    janus: null,
  };
  ctx.sleep = (ms) => Promise.race([sleep(ms), ctx.stopped]);
  ctx.violation = (kind, detail) => {
    ctx.violations.push({ t_s: Number(tS().toFixed(1)), kind, detail });
    if (ctx.violations.length <= 50) log(`soak: VIOLATION ${kind}: ${detail}`);
  };
  ctx.note = (s) => {
    if (ctx.notes.length < 500) ctx.notes.push(`${tS().toFixed(1)} ${s}`);
  };
  ctx.botToken = joinToken(ctx.keys, [ctx.rooms.main], {}, { ttl: cfg.durationS + 900 });

  const janusOptions = {
    // clock_leeway_s 0: ejection at exp exactly (the default leeway would keep expired tokens valid 60 s)
    pluginConfig: { auth_key: join(ctx.keys.dir, 'public.der'), expiry_warning_s: 3, kick_ban_s: cfg.kickBanS, clock_leeway_s: 0 },
    janusConfig: { general: { session_timeout: cfg.sessionTimeoutS } },
    debugLevel: Number(process.env.SOAK_JANUS_DEBUG ?? 3),
  };
  const faults = { crash: null, restart: null, flood: null, victims: {}, stall: null };

  // ---------------------------------------------------------------- Janus and its watchers
  let planned = false;
  let crashLog = null;
  const watch = (j) => {
    j.exited.then(({ code, signal }) => {
      if (planned || ctx.stopping) return;
      faults.crash = { t_s: tS(), code, signal };
      crashLog = j.logText().split('\n').slice(-200).join('\n');
      ctx.violation('janus_crash', `Janus exited (code ${code}, signal ${signal})`);
      ctx.stopping = true;
      stopResolve();
    });
  };
  const heapFile = join(outDir, 'heap.txt');
  const envBefore = { JANUS_LD_PRELOAD: process.env.JANUS_LD_PRELOAD, SOAK_HEAP_FILE: process.env.SOAK_HEAP_FILE };
  const heapProbe = installHeapProbe(heapFile);
  ctx.janus = await startJanus(janusOptions);
  watch(ctx.janus);
  let admin = adminClient(ctx.janus);

  // ---------------------------------------------------------------- stable participants
  const { stable } = cfg;
  const stableUsers = [];
  for (let i = 0; i < stable.publishers; i++) {
    stableUsers.push({ user: `pub-${i}`, publisher: true });
    for (let j = 0; j < stable.subscribers; j++) stableUsers.push({ user: `sub-${i}-${j}`, publisher: false });
  }
  const startStable = async () => {
    for (const u of stableUsers) ctx.model.maybe(ctx.rooms.main, u.user, 60000, { kind: 'bot', publisher: u.publisher });
    const bot = new BotProc(['--url', ctx.janus.httpUrl, '--room', ctx.rooms.main, '-P', String(stable.publishers),
      '-S', String(stable.subscribers), '--audio-pps', String(stable.audioPps), '--video-pps', String(stable.videoPps),
      '--token', ctx.botToken, '--duration', '0', '--progress', '1', '--timeout', '20', '--ramp-timeout', '60'],
    { t0, name: 'stable' });
    const up = await bot.waitUp(stable.publishers, stable.publishers * stable.subscribers, 60000);
    if (!up) {
      ctx.violation('stable_peer_failed', `stable participants not up: ${JSON.stringify(bot.last)} ${bot.stderr}`);
    }
    for (const u of stableUsers) ctx.model.live(ctx.rooms.main, u.user, { kind: 'bot', publisher: u.publisher });
    return bot;
  };
  const bots = [await startStable()];
  log(`soak: Janus ${ctx.janus.pid} up, stable participants up after ${tS().toFixed(1)} s; running ${cfg.durationS} s, results in ${outDir}`);

  // ---------------------------------------------------------------- churn
  const actors = [];
  for (let i = 0; i < cfg.members; i++) actors.push(member(ctx, i));
  actors.push(owner(ctx, cfg.kickEveryS * 1000));
  for (let i = 0; i < cfg.http; i++) actors.push(httpChurner(ctx, i, { pauseMs: cfg.httpPauseMs }));
  for (let i = 0; i < cfg.hostiles; i++) actors.push(hostile(ctx, i));
  const inRestartWindow = (s, lifeS) => s + lifeS > cfg.restartAtS - 3 && s < cfg.restartAtS + 5;
  // Killed bots' sessions live until Janus times them out: stop killing in time for them to be gone at the end.
  const lastVictimS = cfg.durationS - cfg.sessionTimeoutS - 8;
  ctx.abandonUntilS = lastVictimS;
  ctx.tS = tS;
  const periodic = (everyS, lifeS, fn) => (async () => {
    let k = 0;
    await ctx.sleep(everyS * 500);
    while (!ctx.stopping && tS() < Math.min(cfg.durationS - lifeS - 2, lastVictimS)) {
      if (!inRestartWindow(tS(), lifeS)) {
        try {
          await fn(k++);
        } catch (e) {
          if (!ctx.stopping && !ctx.restarting) ctx.errors.inc(`victim:${String(e.message).slice(0, 60)}`);
        }
      }
      await ctx.sleep(everyS * 1000);
    }
  })();
  actors.push(periodic(cfg.nodeVictimEveryS, 1, (k) => nodeVictim(ctx, k)));
  actors.push(periodic(cfg.botVictimEveryS, 1, (k) => botVictim(ctx, k)));
  actors.push(periodic(cfg.stallEveryS, cfg.stallLifeS, (k) => stallPeer(ctx, k, cfg.stallLifeS * 1000)));

  // ---------------------------------------------------------------- sampling and coherence
  const samples = [];
  const suspects = new Map(); // key -> first seen (ms)
  const reported = new Set();
  let lastTicks = cpuTicks(ctx.janus.pid);
  let lastT = Date.now();
  let lastStatus = 0;
  let phase = 'warmup';
  const stableBot = () => bots[bots.length - 1];
  const sampleOnce = async () => {
    const now = Date.now();
    const pid = ctx.janus.pid;
    const ticks = cpuTicks(pid);
    const cpuPct = now > lastT ? (100 * ((ticks - lastTicks) / 100)) / ((now - lastT) / 1000) : 0;
    lastTicks = ticks;
    lastT = now;
    let view = null;
    if (!ctx.restarting) {
      try {
        view = await adminView(admin);
      } catch (e) {
        if (!ctx.restarting && !ctx.stopping) ctx.errors.inc('sampler:admin_failed');
      }
    }
    const bot = stableBot();
    const p = bot?.last;
    const prev = bot?.progress[bot.progress.length - 2];
    const interval = deliveryBetween(prev, p);
    const m = ctx.model.count();
    const [heapInuse, heapHeld] = ctx.restarting ? ['', ''] : readHeap(heapFile);
    const st = statusOf(pid);
    const row = {
      t_s: Number(tS().toFixed(1)), phase, pid, rss_kb: rssKb(pid), cpu_pct: Number(cpuPct.toFixed(1)),
      heap_inuse_kb: heapInuse === '' ? '' : Math.round(heapInuse / 1024),
      heap_held_kb: heapHeld === '' ? '' : Math.round(heapHeld / 1024),
      rss_anon_kb: st.anon, rss_file_kb: st.file, threads: st.threads, fds: st.fds, sessions: view?.sessions ?? '', handles: view?.handles.size ?? '',
      plugin_rooms: view?.rooms.length ?? '', plugin_users: view?.pluginUsers ?? '',
      plugin_handles: view?.pluginHandles ?? '', model_live: m.live, model_maybe: m.maybe,
      stable_delivered_pct: p?.delivery.delivered_pct ?? '', stable_interval_pct: interval?.pct ?? '',
      delay_p50_ms: p?.interval.delay_p50_ms ?? '', delay_p99_ms: p?.interval.delay_p99_ms ?? '',
      handles_created: ctx.counts.get('handles_created'), refused: ctx.counts.sum('refused:') + ctx.counts.get('flood:refused'),
      errors: ctx.errors.sum(), violations: ctx.violations.length, load1: Number(loadavg()[0].toFixed(2)),
    };
    samples.push(row);
    if (view && !ctx.restarting) checkCoherence(view, now);
    if (now - lastStatus >= cfg.statusEveryS * 1000) {
      lastStatus = now;
      log(`soak ${mmss(row.t_s)} ${phase}: rss ${(row.rss_kb / 1024).toFixed(1)} MiB, cpu ${row.cpu_pct}%, handles ${
        row.handles} (plugin ${row.plugin_handles}), users ${row.plugin_users} (clients ${m.live}), delivery ${
        p ? p.delivery.delivered_pct.toFixed(3) : '-'}%, p99 ${row.delay_p99_ms} ms, refused ${row.refused}, errors ${
        row.errors}, violations ${row.violations}, load ${row.load1}`);
    }
  };
  const suspect = (key, now, kind, detail, seen) => {
    seen.add(key);
    if (!suspects.has(key)) suspects.set(key, now);
    else if (now - suspects.get(key) >= PERSIST_MS && !reported.has(key)) {
      reported.add(key);
      ctx.violation(kind, detail);
    }
  };
  const checkCoherence = (view, now) => {
    // Killed clients: how long the plugin keeps listing their users.
    for (const [key, k] of ctx.kills) {
      const [room, user] = key.split('|');
      if (view.participants.get(room)?.has(user)) k.seen = true;
      else if (k.seen || now - k.at > 60000) {
        ctx.killResults.push({ kind: k.kind, seen_after_kill: !!k.seen, gone_after_ms: now - k.at });
        ctx.kills.delete(key);
      }
    }
    const seen = new Set();
    const afterRestart = faults.restart && now - faults.restart.upAt < 15000;
    for (const [room, users] of view.participants) {
      for (const [user, hs] of users) {
        if (!ctx.model.may(room, user)) {
          suspect(`ghost:${room}/${user}`, now, 'ghost_user', `${user} still in ${room} (handles ${hs.join(',')}), no client holds it`, seen);
        }
        // list_participants is read after handle_info, so the plugin may list newer handles, never more old ones
        const core = view.coreByUser.get(`${room}/${user}`) ?? 0;
        if (hs.length > core) {
          suspect(`orphan:${room}/${user}`, now, 'orphan_handle', `plugin lists ${hs.length} handles of ${user} in ${room}, the core has ${core}`, seen);
        }
      }
    }
    if (!afterRestart) {
      for (const { room, user, e } of ctx.model.liveEntries()) {
        if (ctx.model.must(room, user, 3000) && !view.participants.get(room)?.has(user)) {
          suspect(`missing:${room}/${user}`, now, 'missing_user', `${user} (${e.kind}) not in ${room} although its client holds it`, seen);
        }
      }
    }
    for (const k of [...suspects.keys()]) if (!seen.has(k)) suspects.delete(k);
    ctx.counts.inc('coherence_checks');
  };
  const sampler = (async () => {
    while (!ctx.stopping) {
      const next = Date.now() + cfg.sampleS * 1000;
      await sampleOnce().catch((e) => ctx.errors.inc(`sampler:${e.message.slice(0, 40)}`));
      ctx.model.prune();
      await ctx.sleep(Math.max(0, next - Date.now()));
    }
  })();

  // ---------------------------------------------------------------- timeline
  const until = async (s) => {
    while (!ctx.stopping && tS() < s) await ctx.sleep(Math.min(1000, (s - tS()) * 1000));
  };

  // Flood of forged-token joins.
  await until(cfg.floodAtS);
  if (!ctx.stopping) {
    phase = 'flood';
    const bot = stableBot();
    const before = bot.lastBefore(Date.now() - t0);
    const ticks0 = cpuTicks(ctx.janus.pid);
    const f0 = Date.now();
    const r = await flood(ctx, cfg.floodS * 1000);
    const ticks1 = cpuTicks(ctx.janus.pid);
    const f1 = Date.now();
    await sleep(1500); // the next progress line covers the flood's end
    const after = bot.lastBefore(f1 - t0 + 1200);
    const lines = bot.progress.filter((x) => x.at > f0 - t0 && x.at <= f1 - t0 + 1200);
    const cpuS = (ticks1 - ticks0) / 100;
    const d = deliveryBetween(before, after);
    faults.flood = {
      seconds: Number(r.seconds.toFixed(1)), refused: r.refused, other: r.other, accepted: r.accepted, errors: r.errors,
      refused_per_s: Number((r.refused / r.seconds).toFixed(0)),
      janus_cpu_pct: Number(((100 * cpuS) / r.seconds).toFixed(0)),
      refused_per_cpu_s: cpuS > 0 ? Number((r.refused / cpuS).toFixed(0)) : null,
      cores: cpus().length,
      // Packets in flight at the first line arrive in the window: never report over 100%.
      stable_delivered_pct: d?.pct == null ? null : Math.min(100, d.pct), stable_expected: d?.expected ?? null,
      stable_delay_p99_ms_max: lines.length ? Math.max(...lines.map((x) => x.interval.delay_p99_ms)) : null,
    };
    log(`soak: flood: ${r.refused} forged joins refused in ${r.seconds.toFixed(1)} s (${faults.flood.refused_per_s}/s, Janus CPU ${
      faults.flood.janus_cpu_pct}% = ${faults.flood.refused_per_cpu_s} per CPU-second); stable delivery ${
      d?.pct?.toFixed(3)}%, p99 up to ${faults.flood.stable_delay_p99_ms_max} ms`);
    phase = 'warmup';
  }
  await until(cfg.warmupS);
  if (!ctx.stopping) phase = 'steady';

  // Janus restarted under load.
  await until(cfg.restartAtS);
  const restartAtMs = Date.now() - t0;
  if (!ctx.stopping) {
    phase = 'restart';
    const joinedBefore = ctx.model.liveEntries().filter((x) => x.e.kind === 'member').map((x) => x.user);
    let resolveUp;
    ctx.up = new Promise((r) => { resolveUp = r; });
    ctx.restarting = true;
    ctx.epoch++;
    planned = true;
    const s0 = Date.now();
    const stopped = await ctx.janus.stop();
    const stopMs = Date.now() - s0;
    rmSync(heapFile, { force: true });
    ctx.model.clear();
    ctx.rejoined.clear();
    ctx.kills.clear();
    await stableBot().stop(); // its PeerConnections died with Janus; a new process reconnects them
    const s1 = Date.now();
    ctx.janus = await startJanus({ ...janusOptions, ports: ctx.janus.ports });
    const startMs = Date.now() - s1;
    planned = false;
    watch(ctx.janus);
    admin = adminClient(ctx.janus);
    lastTicks = cpuTicks(ctx.janus.pid);
    ctx.restarting = false;
    resolveUp();
    const upAt = Date.now();
    bots.push(await startStable());
    const botsUpMs = Date.now() - upAt;
    // Members that were in a room reconnect under the same name.
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && joinedBefore.some((u) => !ctx.rejoined.has(u) && !ctx.stopping)) await sleep(200);
    const missingRejoins = joinedBefore.filter((u) => !ctx.rejoined.has(u));
    const recoveredMs = Date.now() - upAt;
    // Coherent room: the plugin's participants are exactly the clients', within 10 s.
    let coherent = null;
    for (let i = 0; i < 20 && !ctx.stopping; i++) {
      try {
        const v = await adminView(admin);
        const ghosts = [];
        for (const [room, users] of v.participants) for (const u of users.keys()) if (!ctx.model.may(room, u)) ghosts.push(`${room}/${u}`);
        const missing = ctx.model.liveEntries().filter((x) => ctx.model.must(x.room, x.user, 1000)
          && !v.participants.get(x.room)?.has(x.user)).map((x) => `${x.room}/${x.user}`);
        coherent = { ghosts, missing, users: v.pluginUsers, handles: v.handles.size };
        if (!ghosts.length && !missing.length) break;
      } catch { /* Janus still busy */ }
      await sleep(500);
    }
    faults.restart = {
      at_s: Number((restartAtMs / 1000).toFixed(1)), stop_ms: stopMs, stop_result: stopped, start_ms: startMs,
      upAt, stable_up_ms: botsUpMs, members_joined_before: joinedBefore.length, rejoined: ctx.rejoined.size,
      missing_rejoins: missingRejoins, recovered_ms: recoveredMs, coherent_after: coherent,
    };
    if (missingRejoins.length) ctx.violation('restart_not_recovered', `not rejoined 30 s after the restart: ${missingRejoins.join(', ')}`);
    if (coherent && (coherent.ghosts.length || coherent.missing.length)) {
      ctx.violation('incoherent_after_restart', `ghosts ${coherent.ghosts.join(',')} missing ${coherent.missing.join(',')}`);
    }
    log(`soak: Janus restarted (stop ${stopMs} ms, start ${startMs} ms); stable participants up in ${botsUpMs} ms; ${
      ctx.rejoined.size}/${joinedBefore.length} members rejoined in ${recoveredMs} ms; room ${
      coherent && !coherent.ghosts.length && !coherent.missing.length ? 'coherent' : `INCOHERENT ${JSON.stringify(coherent)}`}`);
    phase = 'after_restart';
  }
  await until(cfg.durationS);

  // ---------------------------------------------------------------- drain: every client goes, nothing may stay
  phase = 'drain';
  const crashed = !!faults.crash;
  ctx.stopping = true;
  stopResolve();
  const drainT0 = Date.now();
  await Promise.race([Promise.allSettled(actors), sleep(30000)]);
  const lastBot = stableBot();
  const beforeStop = lastBot.last;
  const finalSummary = await lastBot.stop();
  await sampler;
  let leftover = null;
  let drainMs = null;
  if (!crashed) {
    const deadline = Date.now() + (cfg.sessionTimeoutS + 20) * 1000;
    for (;;) {
      const v = await adminView(admin).catch(() => null);
      samples.push({ ...samples[samples.length - 1], t_s: Number(tS().toFixed(1)), phase, rss_kb: rssKb(ctx.janus.pid),
        sessions: v?.sessions ?? '', handles: v?.handles.size ?? '', plugin_rooms: v?.rooms.length ?? '',
        plugin_users: v?.pluginUsers ?? '', plugin_handles: v?.pluginHandles ?? '', model_live: 0, model_maybe: 0 });
      if (v && v.sessions === 0 && v.handles.size === 0 && v.rooms.length === 0) {
        drainMs = Date.now() - drainT0;
        break;
      }
      if (Date.now() > deadline) {
        leftover = v && { sessions: v.sessions, handles: v.handles.size, rooms: v.rooms,
          participants: Object.fromEntries([...v.participants].map(([r, m]) => [r, Object.fromEntries(m)])) };
        ctx.violation('leaked_handles', `after every client left and ${cfg.sessionTimeoutS + 20} s: ${JSON.stringify(leftover).slice(0, 500)}`);
        break;
      }
      await sleep(1000);
    }
  }
  const finalStats = crashed ? null : (await admin.messagePlugin({ request: 'stats' }).catch(() => null))?.response ?? null;
  const stopResult = await ctx.janus.stop();
  rmSync(heapFile, { force: true });
  if (heapProbe) rmSync(heapProbe, { recursive: true, force: true });
  for (const [k, v] of Object.entries(envBefore)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const summarizeKills = (kind) => {
    const seen = ctx.killResults.filter((k) => k.kind === kind && k.seen_after_kill).map((k) => k.gone_after_ms).sort((a, b) => a - b);
    return { killed: ctx.counts.get(`kill:${kind}`), listed_after_kill: seen.length,
      gone_after_ms_p50: seen.length ? seen[Math.floor(seen.length / 2)] : null, gone_after_ms_max: seen.length ? seen[seen.length - 1] : null };
  };
  faults.victims = { node_ws: summarizeKills('node'), sfu_bot_http: summarizeKills('bot'), vanished_mid_join: summarizeKills('vanish') };
  const hangups = ctx.stallResults.map((x) => x.janus_hangup_after_ms).filter((x) => x !== null);
  faults.stall = { peers: ctx.stallResults.length, janus_hung_up: hangups.length,
    hangup_after_ms_min: hangups.length ? Math.min(...hangups) : null, hangup_after_ms_max: hangups.length ? Math.max(...hangups) : null,
    up: ctx.stallResults.filter((x) => x.up).length };

  // ---------------------------------------------------------------- verdict
  const failures = [];
  if (faults.crash) failures.push(`Janus crashed: ${JSON.stringify(faults.crash)}`);
  // RSS after warm-up: Theil-Sen slope up to the restart (one Janus process).
  const win = samples.filter((s) => s.t_s >= cfg.warmupS && s.t_s * 1000 < restartAtMs && s.phase !== 'flood');
  const rssSlope = medianSlope(win.map((s) => s.t_s), win.map((s) => s.rss_kb * 1024)); // B/s
  const winS = win.length > 1 ? win[win.length - 1].t_s - win[0].t_s : 0;
  const handleRate = win.length > 1 ? (win[win.length - 1].handles_created - win[0].handles_created) / winS : 0;
  const memLimit = winS > 0 ? MEM_NOISE / winS + MEM_PER_HANDLE * handleRate : 0; // B/s
  const rssLimit = memLimit;
  const rss = {
    window_s: [win[0]?.t_s ?? null, win[win.length - 1]?.t_s ?? null], samples: win.length,
    start_kb: win[0]?.rss_kb ?? null, end_kb: win[win.length - 1]?.rss_kb ?? null,
    max_kb: Math.max(...samples.map((s) => s.rss_kb || 0)),
    slope_b_per_s: Number(rssSlope.toFixed(1)), slope_kib_per_min: Number((rssSlope * 60 / 1024).toFixed(1)),
    handles_per_s: Number(handleRate.toFixed(1)),
    slope_b_per_handle: handleRate > 0 ? Number((rssSlope / handleRate).toFixed(1)) : null,
    limit_b_per_s: Number(rssLimit.toFixed(0)),
  };
  // Heap in use (malloc accounting of the heap probe), same window: the precise leak check.
  const hwin = win.filter((s) => s.heap_inuse_kb !== '');
  const heapSlope = medianSlope(hwin.map((s) => s.t_s), hwin.map((s) => s.heap_inuse_kb * 1024));
  const heapLimit = memLimit;
  const heap = {
    probe: !!heapProbe, samples: hwin.length, start_kb: hwin[0]?.heap_inuse_kb ?? null,
    end_kb: hwin[hwin.length - 1]?.heap_inuse_kb ?? null,
    slope_b_per_s: Number(heapSlope.toFixed(1)),
    slope_b_per_handle: handleRate > 0 ? Number((heapSlope / handleRate).toFixed(1)) : null,
    limit_b_per_s: Number(heapLimit.toFixed(0)),
  };
  if (heapProbe && hwin.length >= 5 && heapSlope > heapLimit) {
    failures.push(`heap in use grows after warm-up: ${heap.slope_b_per_s} B/s (${heap.slope_b_per_handle} B per handle created) > limit ${heap.limit_b_per_s} B/s`);
  }
  if (win.length < 5) failures.push(`too few RSS samples after warm-up (${win.length})`);
  else if (rssSlope > rssLimit) {
    failures.push(`RSS grows after warm-up: ${rss.slope_b_per_s} B/s (${rss.slope_b_per_handle} B per handle created) > limit ${rss.limit_b_per_s} B/s`);
  }
  // Stable delivery: before the restart (last progress line before it), and after it (final summary).
  const segments = [];
  const seg1 = bots[0].lastBefore(bots.length > 1 ? restartAtMs : Infinity) ?? bots[0].last;
  segments.push({ bot: 'before restart', ...deliveryBetween(null, seg1), up: seg1?.up, failed: seg1?.failed });
  if (bots.length > 1) {
    const last = beforeStop ?? lastBot.last;
    segments.push({ bot: 'after restart', ...deliveryBetween(null, last), up: last?.up, failed: last?.failed });
  }
  const delays = bots.flatMap((b) => b.progress.map((x) => x.interval)).filter((x) => x.delay_n > 0);
  for (const s of segments) {
    const wantSubs = stable.publishers * stable.subscribers;
    if (!s.up || s.up.publishers < stable.publishers || s.up.subscribers < wantSubs) {
      failures.push(`stable participants not all up (${s.bot}): ${JSON.stringify(s.up)}`);
    } else if (s.failed && (s.failed.publishers || s.failed.subscribers)) {
      failures.push(`stable peer failed (${s.bot}): ${JSON.stringify(s.failed)}`);
    }
    if (s.pct === null || s.pct === undefined || s.pct < MIN_DELIVERY_PCT) {
      failures.push(`stable delivery ${s.pct?.toFixed(3)}% < ${MIN_DELIVERY_PCT}% (${s.bot}: ${s.received}/${s.expected})`);
    }
  }
  const byKind = new Counter();
  for (const v of ctx.violations) byKind.inc(v.kind);
  for (const [k, n] of byKind.m) if (k !== 'janus_crash') failures.push(`${n} x ${k} (first: ${ctx.violations.find((v) => v.kind === k).detail})`);

  const pct = (arr, q) => {
    const s = [...arr].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : null;
  };
  const figures = {
    duration_s: Number(tS().toFixed(0)), janus_restarts: bots.length - 1, crashes: faults.crash ? 1 : 0,
    leaked_handles: leftover ? leftover.handles : 0, leaked_sessions: leftover ? leftover.sessions : 0,
    drain_ms: drainMs, rss, heap,
    fds: { window_start: win[0]?.fds ?? null, window_end: win[win.length - 1]?.fds ?? null,
      max: Math.max(...samples.map((s) => Number(s.fds) || 0)) },
    cpu_pct_mean: Number((samples.filter((s) => s.phase === 'steady').reduce((a, s) => a + s.cpu_pct, 0)
      / Math.max(1, samples.filter((s) => s.phase === 'steady').length)).toFixed(1)),
    handles_max: Math.max(...samples.map((s) => Number(s.handles) || 0)),
    plugin_users_max: Math.max(...samples.map((s) => Number(s.plugin_users) || 0)),
    handles_created: ctx.counts.get('handles_created'),
    stable: segments.map((s) => ({ segment: s.bot, delivered_pct: s.pct === null ? null : Number(s.pct?.toFixed(4)),
      expected: s.expected, received: s.received })),
    stable_delay_ms: { p50_of_intervals: pct(delays.map((d) => d.delay_p50_ms), 0.5),
      p99_of_intervals_median: pct(delays.map((d) => d.delay_p99_ms), 0.5),
      p99_of_intervals_max: delays.length ? Math.max(...delays.map((d) => d.delay_p99_ms)) : null,
      max: delays.length ? Math.max(...delays.map((d) => d.delay_max_ms)) : null },
    violations: ctx.violations.length,
    errors: ctx.errors.sum(),
    janus_exit: stopResult,
    load1_mean: Number((samples.reduce((a, s) => a + s.load1, 0) / Math.max(1, samples.length)).toFixed(2)),
  };
  const result = {
    pass: failures.length === 0, failures, figures, faults, config: cfg,
    counts: ctx.counts.toJSON(), errors: ctx.errors.toJSON(), violations: ctx.violations, plugin_stats: finalStats,
    stable_final_summary: finalSummary && { delivery: finalSummary.delivery, media: finalSummary.media },
    notes: ctx.notes.slice(0, 200), outDir,
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, loadavg_at_end: loadavg() },
  };

  // ---------------------------------------------------------------- files
  const cols = Object.keys(samples[0] ?? {});
  writeFileSync(join(outDir, 'samples.csv'), `${cols.join(',')}\n${samples.map((s) => cols.map((c) => s[c]).join(',')).join('\n')}\n`);
  writeFileSync(join(outDir, 'soak.json'), `${JSON.stringify({ ...result, samples }, null, 1)}\n`);
  if (crashLog) writeFileSync(join(outDir, 'janus-crash-log.txt'), crashLog);
  writeFileSync(join(outDir, 'summary.md'), summaryMd(result));
  result.plot = plot(outDir, cols, cfg, restartAtMs / 1000);
  return result;
}

/** A markdown table of the figures. */
export function summaryMd(r) {
  const f = r.figures;
  const L = [];
  L.push(`| figure | value |`, `|---|---|`);
  L.push(`| verdict | ${r.pass ? 'PASS' : `FAIL: ${r.failures.join('; ')}`} |`);
  L.push(`| duration | ${f.duration_s} s, Janus restarted ${f.janus_restarts}x, crashes ${f.crashes} |`);
  L.push(`| handles created | ${f.handles_created} (${f.rss.handles_per_s}/s after warm-up); max live ${f.handles_max}, max users ${f.plugin_users_max} |`);
  L.push(`| leaked handles / sessions at the end | ${f.leaked_handles} / ${f.leaked_sessions} (all gone ${f.drain_ms} ms after the clients stopped) |`);
  L.push(`| RSS after warm-up (${f.rss.window_s[0]}-${f.rss.window_s[1]} s) | ${(f.rss.start_kb / 1024).toFixed(1)} -> ${(f.rss.end_kb / 1024).toFixed(1)} MiB; slope ${f.rss.slope_b_per_s} B/s = ${f.rss.slope_kib_per_min} KiB/min = ${f.rss.slope_b_per_handle} B per handle created (limit ${f.rss.limit_b_per_s} B/s) |`);
  if (f.heap.probe) L.push(`| heap in use after warm-up | ${(f.heap.start_kb / 1024).toFixed(2)} -> ${(f.heap.end_kb / 1024).toFixed(2)} MiB; slope ${f.heap.slope_b_per_s} B/s = ${f.heap.slope_b_per_handle} B per handle created (limit ${f.heap.limit_b_per_s} B/s) |`);
  L.push(`| Janus open files | ${f.fds.window_start} at the end of warm-up, ${f.fds.window_end} before the restart, max ${f.fds.max} |`);
  L.push(`| Janus CPU (steady phase, mean) | ${f.cpu_pct_mean}% of one core |`);
  for (const s of f.stable) L.push(`| stable delivery, ${s.segment} | ${s.delivered_pct}% (${s.received}/${s.expected} packets) |`);
  L.push(`| stable one-way delay | p50 ${f.stable_delay_ms.p50_of_intervals} ms; p99 per 1 s interval: median ${f.stable_delay_ms.p99_of_intervals_median} ms, worst ${f.stable_delay_ms.p99_of_intervals_max} ms; max ${f.stable_delay_ms.max} ms |`);
  if (r.faults.flood) {
    const fl = r.faults.flood;
    L.push(`| flood of forged-token joins | ${fl.refused} refused in ${fl.seconds} s = ${fl.refused_per_s}/s; Janus CPU ${fl.janus_cpu_pct}% => ${fl.refused_per_cpu_s} refusals per CPU-second; stable delivery during it ${fl.stable_delivered_pct?.toFixed(3)}%, p99 up to ${fl.stable_delay_p99_ms_max} ms |`);
  }
  if (r.faults.restart) {
    const rs = r.faults.restart;
    L.push(`| Janus restart under load | stop ${rs.stop_ms} ms, start ${rs.start_ms} ms; ${rs.rejoined}/${rs.members_joined_before} members rejoined in ${rs.recovered_ms} ms; afterwards ghosts ${rs.coherent_after?.ghosts.length}, missing ${rs.coherent_after?.missing.length} |`);
  }
  const c = r.counts;
  const v = r.faults.victims ?? {};
  const gone = (x) => {
    if (!x) return '-';
    if (!x.listed_after_kill) return `${x.killed}: none still listed at the next sample`;
    return `${x.killed}: ${x.listed_after_kill} still listed after the kill, gone after p50 ${x.gone_after_ms_p50} ms / max ${x.gone_after_ms_max} ms`;
  };
  L.push(`| kill -9 of a Node WebSocket client mid-join | ${gone(v.node_ws)} (${Object.entries(c).filter(([k]) => k.startsWith('victim:node_killed_at:')).map(([k, n]) => `${k.slice(22)} ${n}`).join(', ')}) |`);
  L.push(`| kill -9 of sfu-bot (HTTP) mid ICE/DTLS | ${gone(v.sfu_bot_http)} |`);
  L.push(`| handle vanishing mid-join (socket cut) | ${gone(v.vanished_mid_join)} |`);
  const st = r.faults.stall;
  L.push(`| peers whose DTLS never completes | ${st ? `${st.peers} peers, ${st.up} came up; Janus hung up on ${st.janus_hung_up} after ${st.hangup_after_ms_min}-${st.hangup_after_ms_max} ms` : '-'} |`);
  L.push(`| ICE never completes (hostile) | ${c['hostile:no_ice'] ?? 0} peers joined and left |`);
  L.push(`| violations | ${f.violations} |`);
  L.push(`| errors by kind | ${Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} |`);
  L.push(`| machine | ${r.machine.cores} cores, mean load ${f.load1_mean} |`);
  return `${L.join('\n')}\n`;
}

/** rss-handles.png: RSS and live handles over time; CPU and stable delay below. Returns the path or null. */
function plot(outDir, cols, cfg, restartS) {
  const col = (n) => cols.indexOf(n) + 1;
  if (spawnSync('sh', ['-c', 'command -v gnuplot']).status !== 0) return null;
  const marks = [[cfg.warmupS, 'warm-up end'], [cfg.floodAtS, 'flood'], [restartS, 'Janus restart']]
    .map(([x, t], i) => `set arrow ${i + 1} from ${x / 60},graph 0 to ${x / 60},graph 1 nohead dt 2 lc rgb "gray"\n`
      + `set label ${i + 1} "${t}" at ${x / 60},graph 0.97 offset 0.3,0 font ",8" tc rgb "gray40"`).join('\n');
  const gp = `set terminal pngcairo size 1100,760 noenhanced font ",10"
set output "${join(outDir, 'rss-handles.png')}"
set datafile separator ","
set datafile missing ""
set xrange [0:${(cfg.durationS + 60) / 60}]
set multiplot layout 2,1 title "janus.plugin.sfu soak: ${cfg.durationS} s"
${marks}
set grid
set key outside bottom center horizontal
set xlabel "minutes"
set ylabel "Janus RSS (MiB)"
set y2label "live handles"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
plot "${join(outDir, 'samples.csv')}" every ::1 using ($${col('t_s')}/60):($${col('rss_kb')}/1024) axes x1y1 with lines lw 2 title "Janus RSS", \\
  "" every ::1 using ($${col('t_s')}/60):${col('handles')} axes x1y2 with lines title "Janus handles (admin API)", \\
  "" every ::1 using ($${col('t_s')}/60):${col('plugin_handles')} axes x1y2 with lines title "plugin handles (list_participants)"
set ylabel "Janus CPU (% of one core)"
set y2label "stable one-way delay p99 (ms)"
plot "" every ::1 using ($${col('t_s')}/60):${col('cpu_pct')} axes x1y1 with lines title "Janus CPU", \\
  "" every ::1 using ($${col('t_s')}/60):${col('delay_p99_ms')} axes x1y2 with lines title "stable delay p99 (1 s intervals)"
unset multiplot
`;
  writeFileSync(join(outDir, 'plot.gp'), gp);
  const r = spawnSync('gnuplot', [join(outDir, 'plot.gp')], { encoding: 'utf8' });
  return r.status === 0 ? join(outDir, 'rss-handles.png') : null;
}

// ---------------------------------------------------------------- CLI
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : dflt;
  };
  if (!pluginBuilt() || !botBuilt()) {
    console.error('soak: build the plugin and sfu-bot first (./scripts/build.sh)');
    process.exit(2);
  }
  const durationS = Number(opt('--duration', process.env.SOAK_DURATION ?? 1800));
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const outDir = opt('--out', join(topSrcDir, 'bench', 'results', `soak-${stamp}`));
  const r = await runSoak({ durationS, outDir });
  console.log(summaryMd(r));
  console.log(`soak: ${r.pass ? 'PASS' : 'FAIL'}; results in ${r.outDir}${r.plot ? `, plot ${r.plot}` : ''}`);
  process.exit(r.pass ? 0 : 1);
}
