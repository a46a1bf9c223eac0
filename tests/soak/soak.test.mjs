// soak.test.mjs - the 2-minute version of `make soak` (tests/soak/soak.mjs) in the test command: media through a
// real Janus with every kind of churn and the faults (flood of forged tokens, clients killed mid-join, peers whose
// DTLS never completes, Janus restarted under load). It fails on a crash, a leaked handle, a ghost or missing
// user, stable delivery under 99.9%, RSS growth after warm-up beyond the tolerance, or a protocol violation.
// Results (samples.csv, soak.json, summary.md, rss-handles.png) stay in .run/soak-test/. About 2.5 minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { janusNetns, pluginBuilt, topBuildDir } from '../e2e/lib/janus.mjs';
import { botBuilt } from './lib.mjs';
import { runSoak, summaryMd } from './soak.mjs';

function whyNot() {
  if (!pluginBuilt()) return 'plugin not built';
  if (!botBuilt()) return 'sfu-bot not built (make sfu-bot)';
  if (!janusNetns) return 'not in the test network (scripts/netns.sh)';
  return false;
}

const durationS = Number(process.env.SOAK_TEST_DURATION ?? 120);

test(`soak: ${durationS} s of churn, faults and media through a real Janus`, { skip: whyNot(), timeout: (durationS + 240) * 1000 }, async (t) => {
  const r = await runSoak({ durationS, outDir: join(topBuildDir, '.run', 'soak-test'), log: (s) => console.log(s) });
  const md = summaryMd(r);
  console.log(md);
  t.diagnostic(`results in ${r.outDir}`);
  assert.deepEqual(r.failures, [], `soak failed:\n${md}`);
});
