// http.mjs - the Janus HTTP API (REST + long-poll), for churn tests that must not hold a WebSocket per user,
// and Janus's memory and CPU as /proc shows them.
//
//   const api = httpApi(janus.httpUrl);
//   const s = await api.create();                    // session id
//   const h = await api.attach(s, 'janus.plugin.sfu');
//   const ev = await api.message(s, h, { kind: 'join', ... });   // the event of that transaction
//   await api.detach(s, h); await api.destroy(s);
//   await churnCycle(api, 'janus.plugin.sfu', (i) => ({ kind: 'join', room_id: 'r', user_id: `u${i}` }), i);
//   rssKb(janus.pid), cpuTicks(janus.pid)
//
// A plugin message gets an `ack` to its POST; its event is read with GET /janus/<session>?maxev=1 (the session's
// own queue, so this client never shares a session between concurrent requests).
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** The Janus HTTP API at httpUrl (http://127.0.0.1:PORT/janus). Every call rejects on a core error. */
export function httpApi(httpUrl, { timeoutMs = 10000 } = {}) {
  const prefix = randomBytes(4).toString('hex');
  let n = 0;
  async function post(path, body) {
    const transaction = `${prefix}-${n++}`;
    const r = await fetch(`${httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, transaction }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = await r.json();
    if (json.janus === 'error') {
      const e = new Error(`Janus error ${json.error?.code}: ${json.error?.reason}`);
      e.janus = json;
      throw e;
    }
    return { json, transaction };
  }
  /** Long-polls the session's queue until pred matches an event (other events are dropped). */
  async function poll(session, pred) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = await fetch(`${httpUrl}/${session}?maxev=1&rid=${Date.now()}`, {
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
      const json = await r.json();
      for (const ev of Array.isArray(json) ? json : [json]) if (pred(ev)) return ev;
    }
    throw new Error(`no matching event on session ${session} within ${timeoutMs} ms`);
  }
  return {
    post,
    poll,
    async create() {
      return (await post('', { janus: 'create' })).json.data.id;
    },
    async attach(session, plugin) {
      return (await post(`/${session}`, { janus: 'attach', plugin })).json.data.id;
    },
    /** Sends a plugin message; resolves with its event (the reply itself when the plugin answered at once). */
    async message(session, handle, body, jsep) {
      const msg = { janus: 'message', body };
      if (jsep !== undefined) msg.jsep = jsep;
      const { json, transaction } = await post(`/${session}/${handle}`, msg);
      if (json.janus !== 'ack') return json;
      return poll(session, (ev) => ev.transaction === transaction && ev.janus !== 'ack');
    },
    async detach(session, handle) {
      return (await post(`/${session}/${handle}`, { janus: 'detach' })).json;
    },
    async destroy(session) {
      return (await post(`/${session}`, { janus: 'destroy' })).json;
    },
  };
}

/**
 * One create/attach/message/detach/destroy cycle of `plugin`; body(i) is the message. Resolves with the
 * message's event (plugindata.data).
 */
export async function churnCycle(api, plugin, body, i) {
  const s = await api.create();
  try {
    const h = await api.attach(s, plugin);
    const ev = await api.message(s, h, body(i));
    await api.detach(s, h);
    return ev.plugindata?.data;
  } finally {
    await api.destroy(s);
  }
}

/** VmRSS of a process in KiB (0 when it is gone). */
export function rssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of a process in clock ticks (USER_HZ, 100 on Linux), 0 when it is gone. */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Least-squares slope of ys over xs (0 with fewer than 2 points). */
export function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
}
