// actors.mjs - the clients of the soak (tests/soak/soak.mjs): each actor runs "lives" in a loop until the soak
// stops, counts what happens (ctx.counts), reports what should not happen (ctx.violation: fails the soak) and
// what merely went wrong (ctx.errors), and keeps ctx.model up to date with who it holds in which room.
//
//   member   a naf-style participant over WebSocket: offer, join with a short-lived token, subscribe to other
//            publishers, data, block/unblock, refresh; leaves gracefully, drops its socket, lets its token
//            expire, or is kicked (then its rejoin must be refused); rejoins under the same name after a restart
//   owner    holds a kick_users token in the main room and kicks members
//   http     create/attach/join/detach/destroy cycles over the HTTP API; now and then abandons its session
//            (Janus times it out)
//   hostile  invalid tokens, malformed requests, requests before a join, a handle that vanishes mid-join,
//            a peer whose ICE never completes
//   flood()  joins with invalid signatures as fast as Janus answers them
//   victims  client processes killed with SIGKILL mid-join (a Node WebSocket client, and sfu-bot mid ICE/DTLS);
//            sfu-bot peers whose DTLS never completes (--stall-dtls)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../e2e/lib/client.mjs';
import { offerJsep, answerSdp } from '../e2e/lib/sdp.mjs';
import { joinToken, mint } from '../e2e/lib/jwt.mjs';
import { httpApi } from '../e2e/lib/http.mjs';
import { PARSE_ERROR } from '../e2e/lib/sfu.mjs';
import { BotProc, sleep, rand, randInt, pick } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const KEEPALIVE_MS = 5000; // below the soak's session_timeout

/** Why a request failed: 'restart' (Janus was restarted under it), 'stopping', 'timeout', 'disconnected', ... */
export function classify(ctx, e, epoch) {
  if (ctx.stopping) return 'stopping';
  if (epoch !== ctx.epoch || ctx.restarting) return 'restart';
  const m = String(e?.message ?? e);
  if (/timed out|no reply|within \d+ ms|aborted due to timeout/i.test(m)) return 'timeout';
  if (/WebSocket closed|ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|did not open/i.test(m)) return 'disconnected';
  if (e?.janus) return `core_error_${e.janus.error?.code}`;
  return 'exception';
}

/**
 * Runs life() until the soak stops. A failure during a Janus restart waits for the new Janus; a request with
 * no answer within the client's timeout is a violation (a wedged handle or plugin); anything else is an error.
 */
export async function actorLoop(ctx, name, life) {
  while (!ctx.stopping) {
    const epoch = ctx.epoch;
    try {
      await life(epoch);
    } catch (e) {
      const kind = classify(ctx, e, epoch);
      if (kind === 'stopping') break;
      if (kind === 'restart') {
        ctx.counts.inc(`reconnect:${name.replace(/-\d+$/, '')}`);
        await ctx.up;
        await sleep(rand(50, 500));
        continue;
      }
      if (kind === 'timeout') ctx.violation('request_timeout', `${name}: ${e.message}`);
      else ctx.errors.inc(`${name.replace(/-\d+$/, '')}:${kind}`);
      ctx.note(`${name}: ${kind}: ${String(e?.message ?? e).slice(0, 300)}`);
      await sleep(500);
    }
  }
}

/** Checks a join's `users` list against the model: no ghost, and every stable publisher present. */
function checkUsers(ctx, room, self, users, what) {
  const list = users?.[room];
  if (!Array.isArray(list)) {
    ctx.violation('bad_users_list', `${what}: ${JSON.stringify(users)}`);
    return;
  }
  for (const u of list) {
    if (u !== self && !ctx.model.may(room, u)) ctx.violation('ghost_in_users', `${what}: ${u} listed in ${room}`);
  }
  for (const u of ctx.model.publishers(room, 'bot')) {
    if (ctx.model.must(room, u, 3000) && !list.includes(u)) {
      ctx.violation('missing_in_users', `${what}: stable publisher ${u} not listed in ${room}`);
    }
  }
  ctx.counts.inc('users_lists_checked');
}

/** A WebSocket connection + session, its epoch, and whether it has closed. */
async function openConn(ctx) {
  const conn = await connect(ctx.janus.wsUrl);
  const c = { conn, closed: false, epoch: ctx.epoch, modelEpoch: ctx.model.epoch };
  conn.ws.on('close', () => {
    c.closed = true;
  });
  c.session = await conn.createSession({ keepaliveMs: KEEPALIVE_MS });
  const attach = c.session.attach.bind(c.session);
  c.session.attach = (...args) => {
    ctx.counts.inc('handles_created');
    return attach(...args);
  };
  return c;
}

/** Calls hook(msg) for every message a handle receives (plugin events, hangup, detached). */
function onHandleMessage(handle, hook) {
  const add = handle.events.add.bind(handle.events);
  handle.events.add = (m) => {
    add(m);
    hook(m);
  };
}

const pluginEvent = (m) => (m.janus === 'event' ? m.plugindata?.data?.event : undefined);

// Refusals that are races, not bugs: the other side left between our choice and our request.
const RACES = new Set(['no_such_publisher', 'publisher_not_in_room', 'publisher_not_ready', 'not_joined']);

// =============================================================================
// member
// =============================================================================

/** One life of a member; a.resume = { room, user } rejoins that user after a restart. */
export async function memberLife(ctx, a, epoch) {
  const { main, sides } = ctx.rooms;
  const resume = a.resume;
  a.resume = null;
  a.life++;
  const room = resume?.room ?? (Math.random() < 0.6 ? main : pick(sides));
  const user = resume?.user ?? `m${a.id}-${a.life}`;
  const policy = resume ? 'refresh' : pick(['refresh', 'refresh', 'refresh', 'expire', 'leave', 'leave', 'drop']);
  const c = await openConn(ctx);
  const { conn, session } = c;
  let joined = false;
  let ejected = null;
  try {
    const pub = await session.attach('janus.plugin.sfu');
    const answer = await pub.send({}, offerJsep());
    if (!answer.success) throw new Error(`offer refused: ${JSON.stringify(answer)}`);
    let ttl = randInt(8, 40);
    let exp = Math.floor(Date.now() / 1000) + ttl;
    let token = joinToken(ctx.keys, [room], { user_id: user, exp });
    onHandleMessage(pub, (m) => {
      if (pluginEvent(m) === 'ejected' && !ejected) {
        ejected = { ...m.plugindata.data, at: Date.now() };
        ctx.model.left(room, user);
      } else if (pluginEvent(m) === 'token_expiring') {
        ctx.counts.inc('events:token_expiring');
      }
    });
    ctx.model.maybe(room, user, 30000);
    const j = await pub.send({ kind: 'join', room_id: room, user_id: user,
      subscribe: { notifications: true, data: true }, token });
    if (!j.success) {
      ctx.model.left(room, user, 1000);
      ctx.errors.inc(`member:join_refused:${j.error?.reason}`);
      return;
    }
    joined = true;
    ctx.model.live(room, user, { epoch: c.modelEpoch });
    ctx.counts.inc(resume ? 'member:rejoined_after_restart' : 'member:joined');
    if (resume) ctx.rejoined.add(user);
    checkUsers(ctx, room, user, j.response?.users, `join of ${user}`);
    if (resume && j.response.users[room].includes(user)) {
      ctx.violation('ghost_after_restart', `${user} sees itself in ${room} on its first join after the restart`);
    }

    // Subscriptions to other publishers of the room (stable bots, members).
    const subs = [];
    for (let k = randInt(0, 2); k > 0; k--) {
      const target = pick(ctx.model.publishers(room).filter((u) => u !== user));
      if (!target) break;
      const sh = await session.attach('janus.plugin.sfu');
      const r = await sh.send({ kind: 'join', room_id: room, user_id: user, subscribe: { media: target }, token });
      if (r.success && r.jsep?.type === 'offer') {
        const ack = await sh.send({}, { type: 'answer', sdp: answerSdp(r.jsep.sdp) });
        if (!ack.success) ctx.errors.inc(`member:answer_refused:${ack.error?.reason}`);
        subs.push(sh);
        ctx.counts.inc('member:subscribed');
      } else if (RACES.has(r.error?.reason) || ejected) {
        ctx.counts.inc(`race:subscribe:${r.error?.reason}`);
      } else {
        ctx.errors.inc(`member:subscribe_refused:${r.error?.reason ?? 'no_offer'}`);
      }
    }

    // Live a while.
    const lifeEnd = Date.now() + rand(5000, 45000);
    const blocked = new Set();
    while (!ctx.stopping && !ejected && Date.now() < lifeEnd) {
      await sleep(rand(300, 2500));
      if (c.closed) throw new Error('WebSocket closed');
      if (ejected || ctx.stopping) break;
      const others = ctx.model.publishers(room).filter((u) => u !== user);
      const roll = Math.random();
      let body;
      let what;
      if (policy === 'refresh' && exp - Date.now() / 1000 < 5) {
        ttl = randInt(8, 40);
        exp = Math.floor(Date.now() / 1000) + ttl;
        token = joinToken(ctx.keys, [room], { user_id: user, exp });
        body = { kind: 'refresh', token };
        what = 'refresh';
      } else if (roll < 0.45) {
        body = { kind: 'data', body: `hello ${randomBytes(8).toString('hex')}`, whom: Math.random() < 0.3 ? pick(others) ?? null : null };
        what = 'data';
      } else if (roll < 0.6 && others.length) {
        const whom = pick(others);
        body = { kind: 'block', whom };
        blocked.add(whom);
        what = 'block';
      } else if (roll < 0.75 && blocked.size) {
        const whom = pick([...blocked]);
        blocked.delete(whom);
        body = { kind: 'unblock', whom };
        what = 'unblock';
      } else {
        continue;
      }
      let r;
      try {
        r = await pub.send(body);
      } catch (e) {
        // A kick or an expiry ended the handle while the request was on its way: the core no longer knows it.
        if (e.janus?.error?.code !== 462) throw e;
        const until = Date.now() + 2000;
        while (!ejected && Date.now() < until) await sleep(50);
        if (!ejected) throw e;
        ctx.counts.inc(`race:${what}:handle_gone`);
        break;
      }
      if (r.success) ctx.counts.inc(`member:${what}`);
      else if (ejected || RACES.has(r.error?.reason)) ctx.counts.inc(`race:${what}:${r.error?.reason}`);
      else ctx.errors.inc(`member:${what}_refused:${r.error?.reason}`);
    }

    if (policy === 'expire' && !ejected && !ctx.stopping) {
      // No refresh: the plugin must eject us at exp (the test allows 5 s of scheduling slack on a busy machine).
      const deadline = exp * 1000 + 5000;
      while (!ejected && Date.now() < deadline && !c.closed && !ctx.stopping) await sleep(100);
      if (c.closed && !ejected) throw new Error('WebSocket closed');
      if (!ejected && !ctx.stopping) ctx.violation('no_ejection_at_expiry', `${user} in ${room}: exp ${exp}`);
    }
    if (ejected) {
      ctx.counts.inc(`member:ejected:${ejected.reason}`);
      if (ejected.reason === 'token_expired' && ejected.at > exp * 1000 + 5000) {
        ctx.violation('late_ejection', `${user} ejected ${ejected.at - exp * 1000} ms after exp`);
      }
      if (ejected.reason === 'kicked') a.kicked = { room, user };
      await c.conn.close();
      return;
    }
    if (ctx.stopping || policy !== 'drop') {
      for (const sh of subs) await sh.detach();
      await pub.detach();
      ctx.model.left(room, user);
      await session.destroy();
      ctx.counts.inc('member:left');
    } else {
      c.conn.ws.terminate(); // the tab crashed: Janus notices the socket is gone
      ctx.model.left(room, user, 5000);
      ctx.counts.inc('member:dropped');
    }
  } catch (e) {
    if (joined && !ejected) {
      if (classify(ctx, e, epoch) === 'restart') {
        a.resume = { room, user }; // rejoin under the same name once Janus is back
      } else {
        ctx.model.left(room, user, 5000);
      }
    }
    throw e;
  } finally {
    c.conn.ws.terminate();
  }
}

/** After a kick: the same user with a fresh valid token must be refused (banned for kick_ban_s). */
export async function kickedRejoin(ctx, a) {
  const { room, user } = a.kicked;
  a.kicked = null;
  const c = await openConn(ctx);
  try {
    const h = await c.session.attach('janus.plugin.sfu');
    ctx.model.maybe(room, user, 10000);
    const r = await h.send({ kind: 'join', room_id: room, user_id: user, subscribe: { notifications: true, data: true },
      token: joinToken(ctx.keys, [room], { user_id: user }, { ttl: 30 }) });
    if (r.success) ctx.violation('kicked_user_rejoined', `${user} rejoined ${room} right after its kick`);
    else if (r.error?.reason === 'banned') ctx.counts.inc('member:rejoin_refused_banned');
    else ctx.errors.inc(`member:rejoin_refused:${r.error?.reason}`);
    ctx.model.left(room, user, r.success ? 3000 : 0);
  } finally {
    c.conn.ws.terminate();
  }
}

export async function member(ctx, id) {
  const a = { id, life: 0, resume: null, kicked: null };
  await actorLoop(ctx, `member-${id}`, async (epoch) => {
    if (a.kicked) {
      await kickedRejoin(ctx, a);
      return;
    }
    await memberLife(ctx, a, epoch);
    if (!a.kicked) await sleep(rand(0, 1500));
  });
}

// =============================================================================
// owner
// =============================================================================

export async function owner(ctx, kickEveryMs) {
  const room = ctx.rooms.main;
  const user = 'owner';
  await actorLoop(ctx, 'owner', async (epoch) => {
    const c = await openConn(ctx);
    try {
      const pub = await c.session.attach('janus.plugin.sfu');
      const answer = await pub.send({}, offerJsep());
      if (!answer.success) throw new Error(`owner offer refused: ${JSON.stringify(answer)}`);
      const mintOwner = () => joinToken(ctx.keys, [room], { user_id: user, kick_users: true }, { ttl: 40 });
      ctx.model.maybe(room, user, 30000, { kind: 'owner' });
      const j = await pub.send({ kind: 'join', room_id: room, user_id: user,
        subscribe: { notifications: true, data: true }, token: mintOwner() });
      if (!j.success) {
        ctx.model.left(room, user, 1000);
        ctx.errors.inc(`owner:join_refused:${j.error?.reason}`);
        await sleep(1000);
        return;
      }
      ctx.model.live(room, user, { kind: 'owner', epoch: c.modelEpoch });
      checkUsers(ctx, room, user, j.response?.users, 'join of owner');
      let refreshed = Date.now();
      try {
        while (!ctx.stopping) {
          await ctx.sleep(kickEveryMs * rand(0.5, 1.5));
          if (c.closed) throw new Error('WebSocket closed');
          if (ctx.stopping) break;
          if (Date.now() - refreshed > 20000) {
            const r = await pub.send({ kind: 'refresh', token: mintOwner() });
            if (!r.success) ctx.errors.inc(`owner:refresh_refused:${r.error?.reason}`);
            refreshed = Date.now();
          }
          const victims = ctx.model.liveEntries().filter((x) => x.room === room && x.e.kind === 'member'
            && Date.now() - x.e.since > 2000);
          if (!victims.length) continue;
          const v = pick(victims);
          const r = await pub.send({ kind: 'kick', room_id: room, user_id: v.user, token: mintOwner() });
          if (!r.success) ctx.errors.inc(`owner:kick_refused:${r.error?.reason}`);
          else if (r.response?.kicked > 0) ctx.counts.inc('owner:kicks');
          else ctx.counts.inc('race:kick:nobody_there');
        }
        await pub.detach();
        ctx.model.left(room, user);
        await c.session.destroy();
      } catch (e) {
        ctx.model.left(room, user, 5000);
        throw e;
      }
    } finally {
      c.conn.ws.terminate();
    }
    void epoch;
  });
}

// =============================================================================
// http
// =============================================================================

export async function httpChurner(ctx, id, { pauseMs = 100, users = 200 } = {}) {
  // Returning users: `users` names, each with its own token (so the verified-token cache holds a few hundred
  // entries, not one per cycle); a join of a name whose abandoned session Janus still holds replaces it.
  let n = 0;
  const tokens = new Map();
  await actorLoop(ctx, `http-${id}`, async () => {
    const api = httpApi(ctx.janus.httpUrl);
    const modelEpoch = ctx.model.epoch;
    const room = pick(ctx.rooms.sides);
    const user = `h${id}-${n++ % users}`;
    const key = `${room}/${user}`;
    if (!tokens.has(key)) tokens.set(key, joinToken(ctx.keys, [room], { user_id: user }, { ttl: ctx.cfg.durationS + 900 }));
    const s = await api.create();
    const h = await api.attach(s, 'janus.plugin.sfu');
    ctx.counts.inc('handles_created');
    ctx.model.maybe(room, user, 30000);
    const ev = await api.message(s, h, { kind: 'join', room_id: room, user_id: user,
      subscribe: { notifications: false, data: true }, token: tokens.get(key) });
    const data = ev.plugindata?.data;
    if (!data?.success) {
      ctx.model.left(room, user, 1000);
      ctx.errors.inc(`http:join_refused:${data?.error?.reason}`);
      await api.destroy(s);
      return;
    }
    ctx.model.live(room, user, { kind: 'http', epoch: modelEpoch });
    checkUsers(ctx, room, user, data.response?.users, `http join of ${user}`);
    ctx.counts.inc('http:cycles');
    if (Math.random() < 0.01 && ctx.tS() < ctx.abandonUntilS) {
      // Abandoned: no detach, no destroy, no keepalive. Janus times the session out.
      ctx.model.maybe(room, user, (ctx.cfg.sessionTimeoutS + 8) * 1000, { kind: 'http' });
      ctx.counts.inc('http:abandoned');
    } else {
      await api.detach(s, h);
      ctx.model.left(room, user);
      await api.destroy(s);
    }
    await sleep(rand(0, 2 * pauseMs));
  });
}

// =============================================================================
// hostile
// =============================================================================

/** A token signed by nobody: valid header and claims, random signature of the right length. */
export function forgedToken(room, user) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { join_hub: true, room_ids: [room], user_id: user, exp: Math.floor(Date.now() / 1000) + 600,
    jti: randomBytes(8).toString('hex') };
  return `${b64({ alg: 'RS512', typ: 'JWT' })}.${b64(claims)}.${randomBytes(256).toString('base64url')}`;
}

const MALFORMED = [
  { kind: 'join' }, { kind: 'join', room_id: 5, user_id: 'u' }, { kind: 'join', room_id: 'r', user_id: null },
  { kind: 'teleport', room_id: 'r' }, { kind: 5 }, { kind: 'block' }, { kind: 'data', body: { a: 1 } },
  { kind: 'join', room_id: 'x'.repeat(300), user_id: 'u' }, { kind: 'subscribe', what: 'alice' },
  { kind: 'join', room_id: 'r', user_id: 'u', token: 5 }, { kind: 'kick', room_id: 'r', user_id: 'u' },
];

export async function hostile(ctx, id) {
  let n = 0;
  const { main } = ctx.rooms;
  await actorLoop(ctx, `hostile-${id}`, async () => {
    const user = `x${id}-${n++}`;
    const attack = pick(['missing', 'expired', 'forged', 'wrong_key', 'wrong_room', 'garbage', 'mismatch',
      'malformed', 'malformed', 'before_join', 'no_publisher', 'raw', 'vanish', 'vanish', 'no_ice']);
    const c = await openConn(ctx);
    try {
      const h = await c.session.attach('janus.plugin.sfu');
      const join = (token, extra = {}) => h.send({ kind: 'join', room_id: main, user_id: user,
        subscribe: { notifications: true, data: true }, token, ...extra });
      const expect = async (what, promise, reason, msg) => {
        const r = await promise;
        if (r.success) {
          ctx.violation('hostile_accepted', `${what} was accepted: ${JSON.stringify(r).slice(0, 200)}`);
          ctx.model.maybe(main, user, 3000);
        } else if ((reason && r.error?.reason !== reason) || (msg && r.error?.msg !== msg)) {
          ctx.errors.inc(`hostile:${what}:unexpected_${r.error?.reason}`);
        } else {
          ctx.counts.inc(`refused:${what}:${r.error?.reason}`);
        }
      };
      switch (attack) {
        case 'missing': await expect(attack, join(null), 'missing_token'); break;
        case 'expired': await expect(attack, join(joinToken(ctx.keys, [main], { user_id: user }, { ttl: -30 })), 'token_expired'); break;
        case 'forged': await expect(attack, join(forgedToken(main, user)), 'bad_signature'); break;
        case 'wrong_key': await expect(attack, join(joinToken(ctx.otherKeys, [main], { user_id: user })), 'bad_signature'); break;
        case 'wrong_room': await expect(attack, join(joinToken(ctx.keys, ['elsewhere'], { user_id: user })), 'room_not_allowed'); break;
        case 'garbage': await expect(attack, join(`${randomBytes(12).toString('hex')}.x.y!`), 'malformed_token'); break;
        case 'mismatch': await expect(attack, join(joinToken(ctx.keys, [main], { user_id: 'someone-else' })), 'user_mismatch'); break;
        case 'malformed': await expect(attack, h.send(pick(MALFORMED)), null, PARSE_ERROR); break;
        case 'before_join': {
          const body = pick([{ kind: 'data', body: 'x' }, { kind: 'block', whom: 'owner' },
            { kind: 'refresh', token: joinToken(ctx.keys, [main]) }]);
          await expect(attack, h.send(body), 'not_joined');
          break;
        }
        case 'no_publisher':
          await expect(attack, h.send({ kind: 'join', room_id: main, user_id: user, subscribe: { media: `nobody-${n}` },
            token: joinToken(ctx.keys, [main], { user_id: user }) }), 'no_such_publisher');
          break;
        case 'raw': {
          // Not JSON, then a request on the same connection must still be answered.
          c.conn.sendRaw(pick(['{"janus":', 'null', '[]', '{"janus":"message","body":{}}', 'x'.repeat(70000)]));
          await expect('after_raw', join(null), 'missing_token');
          break;
        }
        case 'vanish': {
          // The handle goes away while its join is in flight: the plugin must not keep the user.
          ctx.model.maybe(main, user, 30000, { kind: 'vanish' });
          h.send({ kind: 'join', room_id: main, user_id: user, subscribe: { notifications: true, data: true },
            token: joinToken(ctx.keys, [main], { user_id: user }, { ttl: 60 }) }).catch(() => {});
          await sleep(rand(0, 3));
          c.conn.ws.terminate();
          ctx.kills.set(`${main}|${user}`, { kind: 'vanish', at: Date.now() });
          ctx.counts.inc('kill:vanish');
          ctx.model.maybe(main, user, 4000, { kind: 'vanish' });
          ctx.model.left(main, user, 4000);
          ctx.counts.inc('hostile:vanished_mid_join');
          return;
        }
        case 'no_ice': {
          // A publisher whose ICE can never complete: one unreachable candidate, then end-of-candidates.
          const a = await h.send({}, offerJsep());
          if (!a.success) throw new Error(`no_ice offer refused: ${JSON.stringify(a)}`);
          await h.trickle({ sdpMid: '0', sdpMLineIndex: 0,
            candidate: 'candidate:1 1 udp 2122260223 10.99.0.2 9 typ host generation 0' });
          await h.trickle({ completed: true });
          ctx.model.maybe(main, user, 30000, { kind: 'no_ice' });
          const r = await join(joinToken(ctx.keys, [main], { user_id: user }, { ttl: 60 }));
          if (!r.success) {
            ctx.errors.inc(`hostile:no_ice_join_refused:${r.error?.reason}`);
            ctx.model.left(main, user, 0);
            return;
          }
          ctx.model.live(main, user, { kind: 'no_ice', epoch: c.modelEpoch });
          const until = Date.now() + rand(3000, 12000);
          while (Date.now() < until && !c.closed && !ctx.stopping) await sleep(200);
          const hung = h.events.some((m) => m.janus === 'hangup');
          ctx.counts.inc(hung ? 'hostile:no_ice_hangup_seen' : 'hostile:no_ice_no_hangup_yet');
          await c.session.destroy();
          ctx.model.left(main, user);
          ctx.counts.inc('hostile:no_ice');
          return;
        }
        default: break;
      }
      await c.session.destroy();
    } finally {
      c.conn.ws.terminate();
    }
    await sleep(rand(50, 300));
  });
}

// =============================================================================
// flood
// =============================================================================

/**
 * Joins with forged tokens (a verified RSA signature each: the expensive refusal) from `conns` connections x
 * `handles` handles x `inFlight` requests, for ms. Returns { refused, other, accepted, seconds }.
 */
export async function flood(ctx, ms, { conns = 2, handles = 6, inFlight = 2 } = {}) {
  const room = ctx.rooms.main;
  const out = { refused: 0, other: 0, accepted: 0, errors: 0, seconds: 0 };
  const until = Date.now() + ms;
  const t0 = Date.now();
  let n = 0;
  const cs = [];
  try {
    for (let i = 0; i < conns; i++) cs.push(await openConn(ctx));
    const hs = [];
    for (const c of cs) for (let k = 0; k < handles; k++) hs.push(await c.session.attach('janus.plugin.sfu'));
    await Promise.all(hs.flatMap((h) => Array.from({ length: inFlight }, async () => {
      while (Date.now() < until && !ctx.stopping) {
        const user = `flood-${n++}`;
        let r;
        try {
          r = await h.send({ kind: 'join', room_id: room, user_id: user, subscribe: { notifications: true, data: true },
            token: forgedToken(room, user) });
        } catch (e) {
          out.errors++;
          ctx.errors.inc(`flood:${classify(ctx, e, cs[0].epoch)}`);
          if (ctx.stopping || cs.some((c) => c.closed)) return;
          continue;
        }
        if (r.success) {
          out.accepted++;
          ctx.violation('hostile_accepted', `forged token join of ${user} accepted during the flood`);
        } else if (r.error?.reason === 'bad_signature') out.refused++;
        else out.other++;
      }
    })));
  } finally {
    out.seconds = (Date.now() - t0) / 1000;
    for (const c of cs) c.conn.ws.terminate();
  }
  ctx.counts.inc('flood:refused', out.refused);
  return out;
}

// =============================================================================
// victims: processes killed mid-join, peers whose DTLS never completes
// =============================================================================

/** A Node WebSocket client (victim.mjs) killed with SIGKILL between its attach and the end of its joins. */
export async function nodeVictim(ctx, k) {
  const room = ctx.rooms.main;
  const user = `kv${k}`;
  const token = joinToken(ctx.keys, [room], { user_id: user }, { ttl: 60 });
  ctx.model.maybe(room, user, 60000, { kind: 'victim' });
  const child = spawn(process.execPath, [join(here, 'victim.mjs'), ctx.janus.wsUrl, room, user, token],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise((r) => child.once('exit', r));
  let stage = 'started';
  child.stdout.setEncoding('utf8');
  const attached = new Promise((res) => {
    child.stdout.on('data', (d) => {
      const lines = d.trim().split('\n');
      stage = lines[lines.length - 1];
      if (/attached/.test(d)) res();
    });
    setTimeout(res, 5000);
  });
  await attached;
  await sleep(rand(0, 25)); // somewhere in offer / join / subscriber join
  child.kill('SIGKILL');
  await exited;
  ctx.kills.set(`${room}|${user}`, { kind: 'node', at: Date.now() });
  ctx.counts.inc('kill:node');
  ctx.model.left(room, user, 5000);
  ctx.counts.inc(`victim:node_killed_at:${stage.split(' ')[0]}`);
}

/** sfu-bot (one publisher, one subscriber) killed with SIGKILL during its ICE/DTLS setup. */
export async function botVictim(ctx, k) {
  const room = ctx.rooms.main;
  const prefix = `kb${k}-`;
  const grace = (ctx.cfg.sessionTimeoutS + 8) * 1000; // its HTTP sessions live until Janus times them out
  ctx.model.maybe(room, `${prefix}pub-0`, 60000, { kind: 'victim' });
  ctx.model.maybe(room, `${prefix}sub-0-0`, 60000, { kind: 'victim', publisher: false });
  const bot = new BotProc(['--url', ctx.janus.httpUrl, '--room', room, '-P', '1', '-S', '1', '--user-prefix', prefix,
    '--token', ctx.botToken, '--duration', '0', '--timeout', '10'], { name: `victim-${k}` });
  ctx.counts.inc('handles_created', 2);
  await sleep(rand(5, 150));
  await bot.kill9();
  ctx.kills.set(`${room}|${prefix}pub-0`, { kind: 'bot', at: Date.now() });
  ctx.counts.inc('kill:bot');
  ctx.model.maybe(room, `${prefix}pub-0`, grace, { kind: 'victim' });
  ctx.model.maybe(room, `${prefix}sub-0-0`, grace, { kind: 'victim', publisher: false });
  ctx.counts.inc('victim:bot_killed');
}

/**
 * sfu-bot publisher whose DTLS never completes (--stall-dtls): ICE connects, then Janus's ClientHellos go
 * unanswered. It stays lifeMs, then exits (SIGTERM: it destroys its session). Returns what was seen.
 */
export async function stallPeer(ctx, k, lifeMs) {
  const room = ctx.rooms.main;
  const user = `ds${k}-pub-0`;
  ctx.model.maybe(room, user, lifeMs + 30000, { kind: 'stall' });
  const t0 = Date.now();
  const bot = new BotProc(['--url', ctx.janus.httpUrl, '--room', room, '-P', '1', '--stall-dtls', '--user-prefix', `ds${k}-`,
    '--token', ctx.botToken, '--duration', '0', '--progress', '0.5', '--timeout', String(Math.ceil(lifeMs / 1000) + 5)],
  { name: `stall-${k}` });
  ctx.counts.inc('handles_created');
  await Promise.race([ctx.sleep(lifeMs), bot.exited]);
  const summary = await bot.stop();
  ctx.model.left(room, user, 5000);
  const pubs = summary?.roles?.publishers;
  // The bot's timeout outlasts its life, so a failure it reports is Janus hanging up on it.
  const hungUp = bot.progress.find((p) => p.failed.publishers > 0);
  ctx.counts.inc(pubs?.up ? 'stall:unexpectedly_up' : `stall:${hungUp ? 'janus_hung_up' : 'still_waiting_at_exit'}`);
  const seen = { user, lived_ms: Date.now() - t0, janus_hangup_after_ms: hungUp?.at ?? null, up: pubs?.up ?? null };
  ctx.stallResults.push(seen);
  return seen;
}
