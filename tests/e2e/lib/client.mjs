// client.mjs - a small Janus WebSocket API client for the integration tests (npm `ws`, subprotocol janus-protocol).
//
//   const conn = await connect(janus.wsUrl);
//   const session = await conn.createSession();
//   const h = await session.attach('janus.plugin.sfu');
//   const r = await h.message({ kind: 'join', room_id: 'r', user_id: 'u', subscribe: { data: true } });
//   r.plugindata.data  // {"success":true,"response":{...}}
//   await h.events.waitFor((e) => e.plugindata?.data?.event === 'join');
//   conn.close();
//
// `message()` ignores the ack and resolves with the `event` carrying the same transaction (timeout 10 s);
// a core `error` for that transaction rejects with an Error whose `.janus` is the envelope. Every message
// addressed to a handle without a transaction (plugin events, webrtcup, media, hangup, detached) lands in
// `handle.events`; `conn.responseCount(tx)` counts the non-ack replies a transaction got (exactly-once checks).
import WebSocket from 'ws';
import { randomBytes } from 'node:crypto';
import { slack } from './slack.mjs';

export const DEFAULT_TIMEOUT_MS = 10000; // every timeout here is stretched by SFU_E2E_SLACK (slack.mjs)

/** An array of received messages that can be waited on. */
export class EventLog extends Array {
  constructor() {
    super();
    this.waiters = new Set();
  }

  static get [Symbol.species]() {
    return Array;
  }

  add(msg) {
    this.push(msg);
    for (const w of [...this.waiters]) {
      if (this.length - 1 >= w.since && w.pred(msg)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(msg);
      }
    }
  }

  /**
   * Resolves with the first message (at index >= since, default 0) matching pred; rejects after timeoutMs.
   * Pass since: log.length to ignore what has already arrived.
   */
  waitFor(pred, timeoutMs = DEFAULT_TIMEOUT_MS, { since = 0, what = 'event' } = {}) {
    for (let i = since; i < this.length; i++) if (pred(this[i])) return Promise.resolve(this[i]);
    timeoutMs = slack(timeoutMs);
    return new Promise((resolve, reject) => {
      const w = { pred, since, resolve };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${
          JSON.stringify(this.slice(since).map(summarize))}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** Messages matching pred (from index since). */
  filter2(pred, since = 0) {
    return this.slice(since).filter(pred);
  }
}

function summarize(m) {
  const s = { janus: m.janus };
  if (m.plugindata) s.data = m.plugindata.data;
  if (m.jsep) s.jsep = m.jsep.type;
  return s;
}

/** A plugin event (plugindata.data) with `event == name`. */
export const isPluginEvent = (name) => (m) => m.janus === 'event' && m.plugindata?.data?.event === name;

/** Opens a Janus API WebSocket. wsOptions go to `ws` (and on to https.request for wss: ca, lookup...). */
export async function connect(url, { timeoutMs = DEFAULT_TIMEOUT_MS, wsOptions = {} } = {}) {
  const ws = new WebSocket(url, 'janus-protocol', wsOptions);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`WebSocket ${url} did not open in ${timeoutMs} ms`)), slack(timeoutMs));
    ws.once('open', () => { clearTimeout(t); resolve(); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
  return new JanusConnection(ws, timeoutMs);
}

export class JanusConnection {
  constructor(ws, timeoutMs) {
    this.ws = ws;
    this.timeoutMs = timeoutMs;
    this.prefix = randomBytes(4).toString('hex');
    this.nextTx = 0;
    this.pending = new Map(); // tx -> { resolve, reject, isMessage, timer }
    this.txCounts = new Map(); // tx -> number of non-ack replies
    this.handles = new Map(); // handle id -> JanusHandle
    this.sessions = new Map();
    this.all = new EventLog(); // every message received
    this.closed = false;
    ws.on('message', (data) => this.receive(JSON.parse(data.toString())));
    ws.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error('WebSocket closed'));
      }
      this.pending.clear();
      for (const s of this.sessions.values()) s.stopKeepalive();
    });
    ws.on('error', () => {});
  }

  tx() {
    return `${this.prefix}-${this.nextTx++}`;
  }

  /** Sends a raw request; resolves with the first non-ack reply (or the event, for janus:"message"). */
  request(msg, { timeoutMs = this.timeoutMs, onAck = null } = {}) {
    timeoutMs = slack(timeoutMs);
    const transaction = msg.transaction ?? this.tx();
    const full = { ...msg, transaction };
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('WebSocket closed'));
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new Error(`no reply to ${msg.janus} ${JSON.stringify(msg.body ?? '')
          .slice(0, 200)} (transaction ${transaction}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(transaction, { resolve, reject, isMessage: msg.janus === 'message', timer, onAck });
      this.ws.send(JSON.stringify(full));
    });
  }

  /** Sends a raw text frame (for malformed-request tests). */
  sendRaw(text) {
    this.ws.send(text);
  }

  receive(msg) {
    this.all.add(msg);
    const tx = msg.transaction;
    if (tx !== undefined && msg.janus !== 'ack') this.txCounts.set(tx, (this.txCounts.get(tx) ?? 0) + 1);
    const p = tx !== undefined ? this.pending.get(tx) : undefined;
    if (p) {
      if (msg.janus === 'ack' && p.isMessage) { // the core handed it to the plugin; wait for the event
        p.onAck?.(msg);
        return;
      }
      this.pending.delete(tx);
      clearTimeout(p.timer);
      if (msg.janus === 'error') {
        const e = new Error(`Janus error ${msg.error?.code}: ${msg.error?.reason}`);
        e.janus = msg;
        p.reject(e);
      } else {
        p.resolve(msg);
      }
      return;
    }
    if (tx === undefined && msg.sender !== undefined) {
      const h = this.handles.get(msg.sender);
      if (h) h.events.add(msg);
    } else if (tx === undefined && msg.session_id !== undefined) {
      const s = this.sessions.get(msg.session_id);
      if (s) s.events.add(msg);
    }
  }

  /** Number of non-ack replies received for a transaction. */
  responseCount(tx) {
    return this.txCounts.get(tx) ?? 0;
  }

  async createSession({ keepaliveMs = 25000 } = {}) {
    const r = await this.request({ janus: 'create' });
    const s = new JanusSession(this, r.data.id, keepaliveMs);
    this.sessions.set(s.id, s);
    return s;
  }

  async info() {
    return this.request({ janus: 'info' });
  }

  close() {
    for (const s of this.sessions.values()) s.stopKeepalive();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) resolve();
      else this.ws.once('close', resolve);
    });
  }
}

export class JanusSession {
  constructor(conn, id, keepaliveMs) {
    this.conn = conn;
    this.id = id;
    this.events = new EventLog();
    this.keepalive = keepaliveMs > 0 ? setInterval(() => {
      this.conn.request({ janus: 'keepalive', session_id: this.id }).catch(() => {});
    }, keepaliveMs) : null;
    this.keepalive?.unref?.();
  }

  stopKeepalive() {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
  }

  /** Attaches a plugin handle; rejects (Error with .janus) when the core refuses, e.g. plugin not loaded. */
  async attach(plugin = 'janus.plugin.sfu', extra = {}) {
    const r = await this.conn.request({ janus: 'attach', session_id: this.id, plugin, ...extra });
    const h = new JanusHandle(this, r.data.id);
    this.conn.handles.set(h.id, h);
    return h;
  }

  async destroy() {
    this.stopKeepalive();
    const r = await this.conn.request({ janus: 'destroy', session_id: this.id });
    this.conn.sessions.delete(this.id);
    return r;
  }
}

export class JanusHandle {
  constructor(session, id) {
    this.session = session;
    this.conn = session.conn;
    this.id = id;
    this.events = new EventLog();
    this.lastTx = null;
  }

  /**
   * Sends a plugin message; resolves with the `event` envelope of the same transaction (ack ignored).
   * `body` may be any JSON value (tests send malformed ones); jsep is omitted when undefined.
   */
  message(body, jsep, { timeoutMs = DEFAULT_TIMEOUT_MS, transaction, onAck = null } = {}) {
    const tx = transaction ?? this.conn.tx();
    this.lastTx = tx;
    const msg = { janus: 'message', session_id: this.session.id, handle_id: this.id, body, transaction: tx };
    if (jsep !== undefined) msg.jsep = jsep;
    return this.conn.request(msg, { timeoutMs, onAck }).then((r) => Object.assign(r, { tx }));
  }

  /**
   * Sends a plugin message and resolves once the core acked it (the plugin's handle_message has returned);
   * `.result` is the promise of the event. The core hands concurrent requests to the plugin in any order, so
   * tests of per-handle ordering send the next request only after the previous ack.
   */
  messageAcked(body, jsep, opts = {}) {
    return new Promise((resolve, reject) => {
      const result = this.message(body, jsep, { ...opts, onAck: () => resolve({ result }) });
      // The result may come before the ack (the plugin pushed it before handle_message returned).
      result.then(() => resolve({ result }), reject);
    });
  }

  /** Shorthand: message(body, jsep) then plugindata.data (with `.jsep` attached when present). */
  async send(body, jsep, opts) {
    const r = await this.message(body, jsep, opts);
    const data = r.plugindata?.data;
    if (data && typeof data === 'object') Object.defineProperty(data, 'jsep', { value: r.jsep, enumerable: false });
    return data;
  }

  trickle(candidate) {
    return this.conn.request({ janus: 'trickle', session_id: this.session.id, handle_id: this.id, candidate });
  }

  async detach() {
    const r = await this.conn.request({ janus: 'detach', session_id: this.session.id, handle_id: this.id });
    return r;
  }

  hangup() {
    return this.conn.request({ janus: 'hangup', session_id: this.session.id, handle_id: this.id });
  }
}

/** connect + createSession + attach: { conn, session, handle }. */
export async function openHandle(url, plugin = 'janus.plugin.sfu') {
  const conn = await connect(url);
  const session = await conn.createSession();
  const handle = await session.attach(plugin);
  return { conn, session, handle };
}
