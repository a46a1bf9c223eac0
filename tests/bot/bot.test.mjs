// bot.test.mjs - sfu-bot against a real Janus (issue #5)
//
// One publisher and one subscriber at 50 packets/s (25 audio + 25 video) for
// 5 s, through janus.plugin.sfu and through janus.plugin.videoroom: every peer
// comes up over real ICE/DTLS-SRTP and nothing is lost, duplicated or garbled.
// Janus runs in a private network namespace (tests/bot/with-janus.sh), so the
// test needs root or unprivileged user namespaces; it skips when janus, the bot
// or the plugin is missing.
//
//   make sfu-bot && node --test tests/bot/      (or: make check-bot)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const top = resolve(process.env.top_builddir ?? join(here, '..', '..'));
const bot = process.env.SFU_BOT ?? join(top, 'tools', 'sfu-bot', 'sfu-bot');
const pluginSo = process.env.SFU_PLUGIN_SO ?? join(top, 'plugins', '.libs', 'libjanus_sfu.so');
const withJanus = join(here, 'with-janus.sh');
const sfuToken = join(top, 'tools', 'sfu-token');

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function whyNot(needPlugin) {
  if (!have('janus')) return 'janus is not installed';
  if (!existsSync(bot)) return `${bot} is not built (make sfu-bot)`;
  if (needPlugin && !existsSync(pluginSo)) return `${pluginSo} is not built`;
  if (spawnSync('unshare', ['-rn', 'true']).status !== 0 && process.getuid?.() !== 0)
    return 'no network namespaces here';
  return null;
}

// Runs the bot next to a fresh Janus; returns the parsed JSON summary.
function runBot(plugin, janusArgs = [], botArgs = []) {
  const r = spawnSync(withJanus, [...janusArgs, '--', bot,
    '--url', 'http://127.0.0.1:8088/janus', '--plugin', plugin,
    '-P', '1', '-S', '1', '--audio-pps', '25', '--video-pps', '25',
    '--duration', '5', '--timeout', '10', '--ramp-timeout', '30', ...botArgs],
  { encoding: 'utf8', timeout: 90_000, env: { ...process.env, SFU_PLUGIN_SO: pluginSo } });
  assert.equal(r.error, undefined, `spawn failed: ${r.error}`);
  let summary;
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    assert.fail(`no JSON summary (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, summary, stderr: r.stderr };
}

function assertClean({ status, summary, stderr }) {
  const { roles, media, delivery } = summary;
  assert.equal(roles.publishers.up, 1, `publisher not up: ${JSON.stringify(roles.publishers)}\n${stderr}`);
  assert.equal(roles.subscribers.up, 1, `subscriber not up: ${JSON.stringify(roles.subscribers)}\n${stderr}`);
  assert.equal(status, 0);
  assert.ok(delivery.expected >= 200, `too few packets expected: ${delivery.expected}`);
  assert.equal(delivery.lost, 0, `lost packets: ${JSON.stringify(delivery)}`);
  assert.equal(delivery.duplicates, 0);
  assert.equal(media.rx_bad_payload, 0);
  assert.equal(media.rx_foreign, 0);
  assert.equal(media.srtp_unprotect_failures, 0);
  assert.ok(media.delay_p99_ms < 100, `p99 one-way delay ${media.delay_p99_ms} ms`);
  // the media fast path (tools/sfu-bot/rx.c) took over both peers' sockets
  assert.equal(summary.bot.fastpath, true);
  assert.equal(summary.bot.fastpath_peers, 2, `fast path: ${JSON.stringify(summary.bot)}`);
  assert.equal(summary.bot.stun_requests_rejected, 0);
}

test('publisher -> subscriber through janus.plugin.sfu: no loss', { skip: whyNot(true) ?? false }, () => {
  assertClean(runBot('sfu'));
});

test('publisher -> subscriber through janus.plugin.videoroom: no loss', { skip: whyNot(false) ?? false }, () => {
  assertClean(runBot('videoroom'));
});

// With ice_keepalive_conncheck, Janus's libnice sends STUN Binding requests on
// the selected pair (about one per peer every 5 s here) and fails the
// PeerConnection when they go unanswered. Once the bot's fast path
// owns the socket it answers them itself: they must be answered, and the media
// must keep flowing past the first check.
test('STUN keepalive checks from Janus are answered on the fast path', { skip: whyNot(false) ?? false }, () => {
  const r = runBot('videoroom', ['--nat-conf', 'ice_keepalive_conncheck = true'], ['--duration', '15']);
  assertClean(r);
  assert.ok(r.summary.bot.stun_requests_answered >= 1,
    `keepalive checks answered: ${JSON.stringify(r.summary.bot)}`);
});

test('janus.plugin.sfu with RS512 tokens minted by tools/sfu-token', {
  skip: whyNot(true) ?? (existsSync(sfuToken) ? false : 'tools/sfu-token is not built'),
}, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sfu-bot-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const priv = join(dir, 'private.pem');
  const pub = join(dir, 'public.pem');
  execFileSync('openssl', ['genrsa', '-out', priv, '2048'], { stdio: 'ignore' });
  execFileSync('openssl', ['rsa', '-in', priv, '-pubout', '-out', pub], { stdio: 'ignore' });
  const cmd = `${sfuToken} mint --key ${priv} --room %r --user %u --join --ttl 600`;
  assertClean(runBot('sfu', ['--auth-key', pub], ['--token-cmd', cmd]));
  // and without a token, the joins are refused (counted, never a hang)
  const refused = runBot('sfu', ['--auth-key', pub], ['--duration', '0.5']);
  assert.equal(refused.summary.roles.publishers.up, 0);
  assert.equal(refused.summary.roles.publishers.bad_answer, 1);
  assert.equal(refused.status, 1);
});

// Full mesh as naf-janus-adapter builds it (sfu-bot --mesh, used by bench/capacity.mjs): 6 participants in two
// rooms of 3, each publishing and subscribing to the 2 others of its room. With --srtp-only every leg uses the
// one profile offered, --settle opens the window 1 s after the last peer is up (delivery is then counted in the
// window only), and the summary carries Janus's threads (one "hloop" per event loop), the UDP drops and the
// machine's load.
function assertMesh({ status, summary, stderr }, { loopThreads, profile }) {
  const { roles, media, delivery, config } = summary;
  assert.equal(status, 0, stderr);
  assert.equal(config.mesh, 3);
  assert.equal(config.rooms, 2);
  assert.equal(roles.publishers.up, 6, JSON.stringify(roles));
  assert.equal(roles.subscribers.started, 12);
  assert.equal(roles.subscribers.up, 12, JSON.stringify(roles));
  assert.equal(delivery.lost, 0, JSON.stringify(delivery));
  assert.ok(delivery.expected >= 12 * 2 * 25 * 2, `too few packets expected: ${delivery.expected}`);
  assert.equal(media.rx_foreign, 0);
  assert.equal(media.srtp_unprotect_failures, 0);
  assert.deepEqual(summary.bot.srtp_profiles, profile === 'gcm'
    ? { aes_cm_sha1_80: 0, aead_aes_128_gcm: 18 } : { aes_cm_sha1_80: 18, aead_aes_128_gcm: 0 });
  const loops = summary.janus_threads.classes.find((c) => c.name === 'hloop');
  assert.ok(loops, JSON.stringify(summary.janus_threads));
  if (loopThreads) assert.equal(loops.threads, loopThreads);
  else assert.ok(loops.threads >= 18, `one loop per handle: ${loops.threads}`);
  assert.equal(summary.net.janus_socket_drops, 0);
  assert.ok(summary.machine_load.cpus.length >= 1);
}

const meshArgs = ['-P', '6', '--mesh', '3', '--settle', '1', '--duration', '3', '--srtp-only'];

// runBot with --watch-pid (Janus's pid is known inside with-janus.sh only)
function runMesh(plugin, janusArgs, botArgs) {
  const r = spawnSync(withJanus, [...janusArgs, '--', 'sh', '-c', 'exec "$@" --watch-pid "$JANUS_PID"', 'sh', bot,
    '--url', 'http://127.0.0.1:8088/janus', '--plugin', plugin, '--audio-pps', '25', '--video-pps', '25',
    '--timeout', '10', '--ramp-timeout', '30', ...meshArgs, ...botArgs],
  { encoding: 'utf8', timeout: 90_000, env: { ...process.env, SFU_PLUGIN_SO: pluginSo } });
  assert.equal(r.error, undefined, `spawn failed: ${r.error}`);
  let summary;
  try {
    summary = JSON.parse(r.stdout);
  } catch {
    assert.fail(`no JSON summary (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { status: r.status, summary, stderr: r.stderr };
}

test('full mesh through janus.plugin.sfu, event_loops = 2, AES-CM on every leg', { skip: whyNot(true) ?? false }, () => {
  assertMesh(runMesh('sfu', ['--event-loops', '2'], ['--srtp', 'cm']),
    { loopThreads: 2, profile: 'cm' });
});

test('full mesh through janus.plugin.videoroom, a loop per handle, GCM on every leg', { skip: whyNot(false) ?? false }, () => {
  assertMesh(runMesh('videoroom', ['--event-loops', '0'], ['--srtp', 'gcm']), { loopThreads: 0, profile: 'gcm' });
});
