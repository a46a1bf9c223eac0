// leak.test.mjs - handles do not leak Janus memory (issue 11): create/attach/join/detach/destroy cycles through
// the Janus HTTP API grow Janus's RSS by no more than the same churn costs on Janus's own echotest plugin.
//
// Two Janus processes with the same configuration and the same plugins (janus.plugin.sfu and Debian's
// janus.plugin.echotest) run one after the other: one is churned through janus.plugin.sfu (a publisher join in
// an open room), the other through janus.plugin.echotest (one request, {"audio":true}). After WARMUP cycles,
// VmRSS is read every SAMPLE_EVERY cycles during CYCLES more; the growth per cycle is the least-squares slope.
// The test fails when ours grows by more than twice echotest's per-cycle growth plus SLACK bytes.
//
// Calibration (2-core machine, Janus 1.1.2): echotest grows by 5-20 B/cycle and so does the fixed plugin; the
// plugin that never dropped its reference to the core's session (3ca6d74^) grew by ~2,250 B/cycle, i.e.
// ~6.6 MB over the 3,000 measured cycles, far above the limit (~2*20 + 300 B/cycle). About 15 s in all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startJanus, pluginBuilt } from './lib/janus.mjs';
import { adminClient } from './lib/admin.mjs';
import { httpApi, churnCycle, rssKb, slope } from './lib/http.mjs';

const WARMUP = Number(process.env.LEAK_WARMUP ?? 500);
const CYCLES = Number(process.env.LEAK_CYCLES ?? 3000);
const SAMPLE_EVERY = 100;
const WORKERS = 4; // concurrent cycles
const SLACK = 300; // bytes per cycle: allocator noise, far below a leaked janus_plugin_session (~2.2 KB)

const skip = !pluginBuilt() && 'plugin not built';

const plugins = {
  'janus.plugin.sfu': (i) => ({
    kind: 'join', room_id: `leak-${i % WORKERS}`, user_id: `u${i}`, subscribe: { notifications: true, data: true },
  }),
  'janus.plugin.echotest': () => ({ audio: true }),
};

/** Runs WARMUP + CYCLES cycles of `plugin` on a fresh Janus; returns { perCycle, rssStart, rssEnd, ms }. */
async function measure(plugin) {
  const janus = await startJanus({ extraPlugins: ['libjanus_echotest.so'], debugLevel: 3 });
  try {
    const api = httpApi(janus.httpUrl);
    const body = plugins[plugin];
    const xs = [];
    const ys = [];
    const run = async (total, sampled) => {
      let next = 0;
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        for (let i = next++; i < total; i = next++) {
          const data = await churnCycle(api, plugin, body, i);
          if (plugin === 'janus.plugin.sfu') assert.equal(data?.success, true, `join refused: ${JSON.stringify(data)}`);
          else assert.equal(data?.result, 'ok', `echotest: ${JSON.stringify(data)}`);
          if (sampled && i % SAMPLE_EVERY === 0) {
            xs.push(i);
            ys.push(rssKb(janus.pid) * 1024);
          }
        }
      }));
    };
    await run(WARMUP, false);
    const rssStart = rssKb(janus.pid);
    const t0 = Date.now();
    await run(CYCLES, true);
    const ms = Date.now() - t0;
    const rssEnd = rssKb(janus.pid);
    assert.ok(janus.alive(), 'Janus died during the churn');
    // Every cycle cleaned up after itself: no session left, no room left.
    const admin = adminClient(janus);
    assert.deepEqual((await admin.listSessions()).sessions, [], 'sessions left after the churn');
    if (plugin === 'janus.plugin.sfu') {
      assert.deepEqual((await admin.messagePlugin({ request: 'list_rooms' })).response?.rooms, [], 'rooms left');
    }
    return { perCycle: slope(xs, ys), rssStart, rssEnd, ms };
  } finally {
    await janus.stop();
  }
}

test(`${CYCLES} join cycles through the HTTP API grow Janus's RSS no more than on echotest`, { skip }, async (t) => {
  const ours = await measure('janus.plugin.sfu');
  const echo = await measure('janus.plugin.echotest');
  const limit = 2 * Math.max(0, echo.perCycle) + SLACK;
  const fmt = (m) => `${m.perCycle.toFixed(1)} B/cycle (RSS ${m.rssStart} -> ${m.rssEnd} KiB, ${
    (CYCLES / (m.ms / 1000)).toFixed(0)} cycles/s)`;
  t.diagnostic(`janus.plugin.sfu: ${fmt(ours)}`);
  t.diagnostic(`janus.plugin.echotest: ${fmt(echo)}`);
  t.diagnostic(`limit: 2 x echotest + ${SLACK} = ${limit.toFixed(1)} B/cycle`);
  console.log(`leak: sfu ${ours.perCycle.toFixed(1)} B/cycle, echotest ${echo.perCycle.toFixed(1)} B/cycle, limit ${
    limit.toFixed(1)} B/cycle`);
  assert.ok(ours.perCycle <= limit,
    `janus.plugin.sfu leaks: ${ours.perCycle.toFixed(1)} B per create/attach/join/detach/destroy cycle, echotest ${
      echo.perCycle.toFixed(1)} (limit ${limit.toFixed(1)})`);
});
