// bench-state.mjs - the state backend's cost (issue 12): join rate and ejection latency with the Redis backend
// next to the in-memory one, measured in the same run on the same machine.
//
//   make bench-state      (runs this inside scripts/netns.sh; or: node bench/bench-state.mjs on loopback)
//
// For each backend, fresh Janus node(s) with the built plugin (tests/e2e/lib/janus.mjs), RS512 tokens with
// one_user_per_jti on (so every join also claims its jti in Redis: the backend's worst case on the join path):
//   join rate: BENCH_JOINS publisher joins (WebSocket attach + join with a distinct token, BENCH_CONCURRENCY in
//              flight, over 50 rooms), joins per second;
//   ejection latency: BENCH_ROUNDS times, an admin revoke (by jti) or an owner's kick, from the request to the
//              victim's "ejected" event: memory = one node; redis = the request on node A, the victim on node B.
// Prints one table and the redis/memory ratios; the machine is shared, so compare within one run.
import { performance } from 'node:perf_hooks';
import { startJanus } from '../tests/e2e/lib/janus.mjs';
import { adminClient } from '../tests/e2e/lib/admin.mjs';
import { startRedis } from '../tests/e2e/lib/redis.mjs';
import { connect } from '../tests/e2e/lib/client.mjs';
import { makeKeys, joinToken } from '../tests/e2e/lib/jwt.mjs';
import { join } from 'node:path';

const JOINS = Number(process.env.BENCH_JOINS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 100);
const keys = makeKeys();
let redis = null;
let seq = 0;
const prefix = `bench${process.pid}:`;

function jcfg(backend, name) {
  const lines = ['general: {', `\tauth_key = "${join(keys.dir, 'public.der')}"`, '\tone_user_per_jti = true',
    '\tkick_ban_s = 600', '}'];
  if (backend === 'redis') {
    lines.push('state: {', '\tbackend = "redis"', `\tredis_url = "${redis.url}"`, `\tnode_id = "${name}"`,
      `\tkey_prefix = "${prefix}"`, '}');
  }
  return `${lines.join('\n')}\n`;
}

async function startNode(backend, name) {
  const janus = await startJanus({ pluginConfig: null, files: { 'janus.plugin.sfu.jcfg': jcfg(backend, name) }, debugLevel: 3 });
  const admin = adminClient(janus);
  for (let i = 0; backend === 'redis'; i++) {
    const s = (await admin.messagePlugin({ request: 'stats' })).response.stats.state;
    if (s.current) break;
    if (i > 200) throw new Error('node not current on Redis');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { janus, admin };
}

const token = (room, user, extra = {}) =>
  joinToken(keys, [room], { user_id: user, jti: `b-${process.pid}-${++seq}`, ...extra }, { ttl: 3600 });

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function joinRate(node) {
  const tokens = [];
  for (let i = 0; i < JOINS; i++) {
    const room = `bench-room-${i % 50}`;
    const user = `bench-${seq}-${i}`;
    tokens.push({ room, user, token: token(room, user) });
  }
  const conns = await Promise.all(Array.from({ length: CONCURRENCY }, () => connect(node.janus.wsUrl)));
  const sessions = await Promise.all(conns.map((c) => c.createSession()));
  let next = 0;
  let refused = 0;
  const t0 = performance.now();
  await Promise.all(sessions.map(async (session) => {
    while (next < tokens.length) {
      const t = tokens[next++];
      const h = await session.attach('janus.plugin.sfu');
      const r = await h.send({ kind: 'join', room_id: t.room, user_id: t.user, subscribe: { notifications: true, data: true }, token: t.token });
      if (!r.success) refused++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  for (const c of conns) c.close();
  if (refused) throw new Error(`${refused} joins refused`);
  return JOINS / seconds;
}

/** A publisher on `node` (its own connection); resolves with { conn, handle }. */
async function participant(node, room, user, tok) {
  const conn = await connect(node.janus.wsUrl);
  const session = await conn.createSession();
  const handle = await session.attach('janus.plugin.sfu');
  const r = await handle.send({ kind: 'join', room_id: room, user_id: user, subscribe: { notifications: true, data: true }, token: tok });
  if (!r.success) throw new Error(`join refused: ${JSON.stringify(r)}`);
  return { conn, handle };
}

const ejected = (p) => p.handle.events.waitFor((m) => m.plugindata?.data?.event === 'ejected', 10000);

async function revokeLatency(from, to) {
  const out = [];
  const room = `bench-revoke-${seq}`;
  for (let i = 0; i < ROUNDS; i++) {
    const jti = `r-${process.pid}-${++seq}`;
    const p = await participant(to, room, `v-${i}`, joinToken(keys, [room], { user_id: `v-${i}`, jti }, { ttl: 3600 }));
    const got = ejected(p);
    const t0 = performance.now();
    await from.admin.messagePlugin({ request: 'revoke', jti, until: Math.floor(Date.now() / 1000) + 120 });
    await got;
    out.push(performance.now() - t0);
    p.conn.close();
  }
  return out.sort((a, b) => a - b);
}

async function kickLatency(from, to) {
  const out = [];
  const room = `bench-kick-${seq}`;
  const ownerToken = token(room, 'owner', { kick_users: true });
  const owner = await participant(from, room, 'owner', ownerToken);
  for (let i = 0; i < ROUNDS; i++) {
    const p = await participant(to, room, `k-${i}`, token(room, `k-${i}`));
    const got = ejected(p);
    const t0 = performance.now();
    const reply = owner.handle.send({ kind: 'kick', room_id: room, user_id: `k-${i}`, token: ownerToken });
    await got;
    out.push(performance.now() - t0);
    await reply;
    p.conn.close();
  }
  owner.conn.close();
  return out.sort((a, b) => a - b);
}

const results = {};
try {
  redis = await startRedis();
  for (const backend of ['memory', 'redis']) {
    const a = await startNode(backend, 'A');
    const b = backend === 'redis' ? await startNode(backend, 'B') : a;
    const rate = await joinRate(a);
    const revoke = await revokeLatency(a, b);
    const kick = await kickLatency(a, b);
    results[backend] = { rate, revoke, kick };
    await a.janus.stop();
    if (b !== a) await b.janus.stop();
  }
} finally {
  await redis?.remove();
}

const ms = (v) => v.toFixed(1);
const row = (name, r) => `| ${name} | ${r.rate.toFixed(0)} | ${ms(percentile(r.revoke, 0.5))} / ${ms(percentile(r.revoke, 0.99))} / ${
  ms(r.revoke.at(-1))} | ${ms(percentile(r.kick, 0.5))} / ${ms(percentile(r.kick, 0.99))} / ${ms(r.kick.at(-1))} |`;
console.log(`\nstate backend benchmark: ${JOINS} joins (${CONCURRENCY} in flight, one_user_per_jti), ${ROUNDS} ejections each`);
console.log('| backend | joins/s | revoke -> ejected ms p50 / p99 / max | kick -> ejected ms p50 / p99 / max |');
console.log('|---|---|---|---|');
console.log(row('memory (one node)', results.memory));
console.log(row('redis (A -> B)', results.redis));
console.log(`ratio redis/memory: joins/s ${(results.redis.rate / results.memory.rate).toFixed(2)}, revoke p99 ${
  (percentile(results.redis.revoke, 0.99) / percentile(results.memory.revoke, 0.99)).toFixed(2)}, kick p99 ${
  (percentile(results.redis.kick, 0.99) / percentile(results.memory.kick, 0.99)).toFixed(2)}`);
process.exit(0);
