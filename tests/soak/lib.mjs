// lib.mjs - pieces of the soak (tests/soak/soak.mjs): the orchestrator's model of who is in which room, counters,
// and sfu-bot child processes read through their --progress lines.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { topBuildDir } from '../e2e/lib/janus.mjs';

export const botBin = process.env.SFU_BOT ?? join(topBuildDir, 'tools', 'sfu-bot', 'sfu-bot');
export const botBuilt = () => existsSync(botBin);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const rand = (a, b) => a + Math.random() * (b - a);
export const randInt = (a, b) => Math.floor(rand(a, b + 1));
export const pick = (arr) => arr[Math.floor(Math.random() * arr.length)];

/** Named counters: inc('refused:bad_signature'). */
export class Counter {
  constructor() {
    this.m = new Map();
  }

  inc(k, n = 1) {
    this.m.set(k, (this.m.get(k) ?? 0) + n);
  }

  get(k) {
    return this.m.get(k) ?? 0;
  }

  sum(prefix = '') {
    let s = 0;
    for (const [k, v] of this.m) if (k.startsWith(prefix)) s += v;
    return s;
  }

  toJSON() {
    return Object.fromEntries([...this.m].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/**
 * What the orchestrator's clients believe: for each (room, user), whether a client holds it joined ("live"),
 * or it may legitimately still be there for a while ("maybe": a client that was killed, vanished mid-join,
 * left a second ago, or whose session Janus has yet to time out). The admin API's view is compared with it:
 * a user in the plugin's room that no client holds and that is past its grace is a ghost; a live user the
 * plugin does not list is missing.
 */
export class Model {
  constructor() {
    this.rooms = new Map(); // room -> Map(user -> { state: 'live' | 'maybe', since, until, kind, publisher })
    this.epoch = 0; // bumped when Janus restarts: a success from the old Janus no longer counts
  }

  entry(room, user) {
    return this.rooms.get(room)?.get(user);
  }

  set(room, user, e) {
    if (!this.rooms.has(room)) this.rooms.set(room, new Map());
    this.rooms.get(room).set(user, e);
  }

  /**
   * A client holds (room, user) joined; publisher: it has a publisher handle (listed in `users`); epoch: the
   * Janus the join went to (ignored when Janus has been restarted since).
   */
  live(room, user, { kind = 'member', publisher = true, epoch = this.epoch } = {}) {
    if (epoch !== this.epoch) return;
    this.set(room, user, { state: 'live', since: Date.now(), until: Infinity, kind, publisher });
  }

  /** (room, user) may be there until now + ms (a client that is gone but whose handles Janus may still hold). */
  maybe(room, user, ms, { kind = 'member', publisher = true } = {}) {
    const old = this.entry(room, user);
    const until = Date.now() + ms;
    if (old?.state === 'maybe' && old.until > until) return;
    this.set(room, user, { state: 'maybe', since: old?.since ?? Date.now(), until, kind, publisher });
  }

  /** The client left; the plugin may take `graceMs` more to drop it. */
  left(room, user, graceMs = 3000) {
    const e = this.entry(room, user);
    if (!e) return;
    this.maybe(room, user, graceMs, e);
  }

  /** May (room, user) be in the plugin's view now? */
  may(room, user) {
    const e = this.entry(room, user);
    return !!e && (e.state === 'live' || e.until > Date.now());
  }

  /** Must (room, user) be in the plugin's view (live for more than minAgeMs)? */
  must(room, user, minAgeMs = 2000) {
    const e = this.entry(room, user);
    return !!e && e.state === 'live' && Date.now() - e.since > minAgeMs;
  }

  /** Live publishers of a room (for subscriptions), optionally of one kind. */
  publishers(room, kind) {
    const out = [];
    for (const [u, e] of this.rooms.get(room) ?? []) {
      if (e.state === 'live' && e.publisher && (!kind || e.kind === kind)) out.push(u);
    }
    return out;
  }

  /** [{room, user, entry}] of every live entry. */
  liveEntries() {
    const out = [];
    for (const [room, m] of this.rooms) for (const [user, e] of m) if (e.state === 'live') out.push({ room, user, e });
    return out;
  }

  count() {
    let live = 0;
    let maybe = 0;
    const now = Date.now();
    for (const m of this.rooms.values()) {
      for (const e of m.values()) {
        if (e.state === 'live') live++;
        else if (e.until > now) maybe++;
      }
    }
    return { live, maybe };
  }

  /** Drops expired "maybe" entries. */
  prune() {
    const now = Date.now();
    for (const [room, m] of this.rooms) {
      for (const [u, e] of m) if (e.state !== 'live' && e.until <= now - 60000) m.delete(u);
      if (m.size === 0) this.rooms.delete(room);
    }
  }

  /** Janus restarted: nothing of the old process survives. */
  clear() {
    this.rooms.clear();
    this.epoch++;
  }
}

/**
 * An sfu-bot child process. Progress lines ({"progress":...}, --progress) are kept with the time they arrived
 * (ms since `t0`); the final summary (the rest of stdout) is parsed when it exits.
 */
export class BotProc {
  constructor(args, { t0 = Date.now(), name = 'bot' } = {}) {
    this.name = name;
    this.t0 = t0;
    this.args = args;
    this.progress = [];
    this.summary = null;
    this.stderr = '';
    this.child = spawn(botBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    let buf = '';
    let rest = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('{"progress"')) {
          try {
            this.progress.push({ at: Date.now() - this.t0, ...JSON.parse(line).progress });
          } catch { /* a torn line: ignore */ }
        } else {
          rest += `${line}\n`;
        }
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.exited = new Promise((res) => this.child.once('exit', (code, signal) => {
      rest += buf;
      try {
        this.summary = rest.trim() ? JSON.parse(rest) : null;
      } catch { /* killed while printing */ }
      res({ code, signal });
    }));
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get last() {
    return this.progress[this.progress.length - 1] ?? null;
  }

  /** The last progress line that arrived before `at` (ms since t0). */
  lastBefore(at) {
    for (let i = this.progress.length - 1; i >= 0; i--) if (this.progress[i].at < at) return this.progress[i];
    return null;
  }

  /** Resolves once every peer is up (per the progress lines); false on timeout or exit. */
  async waitUp(pubs, subs, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.alive) {
      const p = this.last;
      if (p && p.up.publishers >= pubs && p.up.subscribers >= subs) return true;
      await sleep(100);
    }
    return false;
  }

  /** SIGTERM (summary, then the bot destroys its sessions), SIGKILL after graceMs. */
  async stop(graceMs = 8000) {
    if (this.alive) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    return this.summary;
  }

  kill9() {
    if (this.alive) this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Delivered fraction between two progress lines (or from the start when `from` is null). */
export function deliveryBetween(from, to) {
  if (!to) return null;
  const e = to.delivery.expected - (from?.delivery.expected ?? 0);
  const r = to.delivery.received - (from?.delivery.received ?? 0);
  return { expected: e, received: r, pct: e > 0 ? (100 * r) / e : null };
}
