// sfu.mjs - janus.plugin.sfu flows shared by the integration tests (what naf-janus-adapter does, without WebRTC).
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { startJanus } from './janus.mjs';
import { connect } from './client.mjs';
import { offerJsep, answerSdp } from './sdp.mjs';

export const PARSE_ERROR = 'data did not match any variant of untagged enum OptionalField';

let uniq = 0;
/** A name unique within this process: room/user ids that never collide between tests. */
export function uid(prefix = 'id') {
  return `${prefix}-${process.pid}-${++uniq}`;
}

/** Opens a WebSocket + Janus session; every handle of a "user" lives on it (like one browser tab). */
export async function openUser(janus) {
  const conn = await connect(janus.wsUrl);
  const session = await conn.createSession();
  return {
    conn,
    session,
    attach: () => session.attach('janus.plugin.sfu'),
    close: () => conn.close(),
  };
}

/**
 * A naf-style publisher: attach, JSEP offer (answered), then join with subscribe {notifications, data}.
 * Returns { user, handle, join (plugindata.data of the join), answer (jsep) }.
 */
export async function publisher(janus, room, userId, { offer = {}, notifications = true, data = true, user, token = null } = {}) {
  user = user ?? await openUser(janus);
  const handle = await user.attach();
  let answer = null;
  if (offer) {
    const r = await handle.send({}, offerJsep(offer));
    assert.equal(r.success, true, `publisher offer refused: ${JSON.stringify(r)}`);
    answer = r.jsep;
  }
  const join = await handle.send({
    kind: 'join', room_id: room, user_id: userId, subscribe: { notifications, data }, token,
  });
  return { user, handle, join, answer, userId, room };
}

/** A naf-style subscriber handle on `user`: join with subscribe {media}, answer the offer if any. */
export async function subscriber(user, room, userId, media, { answer = true, token = null } = {}) {
  const handle = await user.attach();
  const join = await handle.send({ kind: 'join', room_id: room, user_id: userId, subscribe: { media }, token });
  let answerResult = null;
  if (answer && join.success && join.jsep?.type === 'offer') {
    answerResult = await handle.send({}, { type: 'answer', sdp: answerSdp(join.jsep.sdp) });
  }
  return { handle, join, answerResult };
}

/** Asserts a plugin error result {"success":false,"error":{"msg":msg,"reason":snake_case}}. */
export function assertError(data, msg, { reason } = {}) {
  assert.equal(typeof data, 'object', `expected an error object, got ${JSON.stringify(data)}`);
  assert.equal(data.success, false, `expected success:false with "${msg}", got ${JSON.stringify(data)}`);
  assert.equal(data.error?.msg, msg, `wrong error message in ${JSON.stringify(data)}`);
  assert.match(String(data.error?.reason), /^[a-z][a-z0-9_]*$/, `error.reason not snake_case: ${JSON.stringify(data)}`);
  if (reason) assert.equal(data.error.reason, reason);
  assert.equal(data.jsep, undefined, 'an error result carries no jsep');
}

/** Asserts {"success":true,"response":{...}} and returns the response. */
export function assertOk(data, what = 'request') {
  assert.equal(data?.success, true, `${what} failed: ${JSON.stringify(data)}`);
  return data.response;
}

/** Waits ms. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits for a plugin event on a handle. */
export function waitEvent(handle, name, pred = () => true, timeoutMs = 5000, since = 0) {
  return handle.events.waitFor(
    (m) => m.janus === 'event' && m.plugindata?.data?.event === name && pred(m.plugindata.data),
    timeoutMs, { since, what: `plugin event "${name}"` });
}

/** Plugin events named `name` received so far on a handle (optionally from index since). */
export function eventsNamed(handle, name, since = 0) {
  return handle.events.slice(since).filter((m) => m.janus === 'event' && m.plugindata?.data?.event === name)
    .map((m) => m.plugindata.data);
}

/**
 * One private Janus for a test file: started in a before() hook, stopped in an after() hook once every user
 * registered with track() is closed. `file.janus` is set when the hook has run (and handed to `started`, so a
 * file can keep it in a variable of its own); `file.pub(room, id, opts)` is publisher() on it with the user tracked.
 */
export function janusPerFile(options, started = () => {}) {
  const users = [];
  const file = {
    janus: null,
    track: (u) => (users.push(u), u),
    pub: async (room, id, opts) => {
      const p = await publisher(file.janus, room, id, opts);
      file.track(p.user);
      return p;
    },
  };
  before(async () => {
    file.janus = await startJanus(options);
    started(file.janus);
  });
  after(async () => {
    await Promise.allSettled(users.map((u) => u.close()));
    await file.janus?.stop();
  });
  return file;
}
