// summarize.mjs - turn one bench/results/<date>/ folder into summary.json, scaling.dat and a Markdown table
//
//   node bench/summarize.mjs bench/results/<date>      (prints the table)
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/summarize.mjs RESULTS_DIR');
  process.exit(2);
}
const load = (name) => {
  const f = join(dir, `${name}.json`);
  return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null;
};
const machine = load('machine') ?? {};
const fmt = (v, d = 1) => (v === undefined || v === null || Number.isNaN(v) ? 'n/a' : Number(v).toFixed(d));
const ratio = (a, b, d = 2) => (a != null && b ? fmt(a / b, d) : 'n/a');
const up = (r) => Object.values(r?.roles ?? {}).reduce((n, x) => n + x.up, 0);
const started = (r) => Object.values(r?.roles ?? {}).reduce((n, x) => n + x.started, 0);
const failures = (r) => started(r) - up(r);

const rows = [];
const row = (what, unit, a, b, d = 1, lowerIsBetter = true) =>
  rows.push(`| ${what} | ${unit} | ${fmt(a, d)} | ${fmt(b, d)} | ${ratio(a, b)}${lowerIsBetter ? '' : ' (higher is better)'} |`);

const summary = { machine, scenarios: {} };

// join storm
const ss = load('storm-sfu'), sv = load('storm-videoroom');
if (ss || sv) {
  const j = (r, k) => r?.roles?.joiners?.[k];
  row('join storm: joins/s', '1/s', ss?.joins_per_s, sv?.joins_per_s, 0, false);
  row('join storm: join request p50', 'ms', j(ss, 'join_latency')?.p50_ms, j(sv, 'join_latency')?.p50_ms);
  row('join storm: join request p99', 'ms', j(ss, 'join_latency')?.p99_ms, j(sv, 'join_latency')?.p99_ms);
  row('join storm: create+attach+join p99', 'ms', j(ss, 'connect_latency')?.p99_ms, j(sv, 'connect_latency')?.p99_ms);
  row('join storm: failed joins', 'count', failures(ss), failures(sv), 0);
  summary.scenarios.storm = { sfu: ss, videoroom: sv };
}

// relay
const rs = load('relay-sfu'), rv = load('relay-videoroom');
if (rs || rv) {
  row('relay: Janus CPU per forwarded packet', 'us', rs?.janus?.cpu_us_per_forwarded_packet, rv?.janus?.cpu_us_per_forwarded_packet);
  row('relay: Janus CPU', '% of a core', rs?.janus?.cpu_pct, rv?.janus?.cpu_pct);
  row('relay: delivered', '%', rs?.delivery?.delivered_pct, rv?.delivery?.delivered_pct, 3, false);
  row('relay: one-way delay p50', 'ms', rs?.media?.delay_p50_ms, rv?.media?.delay_p50_ms, 2);
  row('relay: one-way delay p99', 'ms', rs?.media?.delay_p99_ms, rv?.media?.delay_p99_ms, 2);
  row('relay: bot CPU per received packet', 'us', rs?.bot?.cpu_us_per_rx_packet, rv?.bot?.cpu_us_per_rx_packet);
  summary.scenarios.relay = { sfu: rs, videoroom: rv };
}

// memory
const ms = load('memory-sfu'), mv = load('memory-videoroom');
if (ms || mv) {
  row('memory: Janus RSS per connected participant', 'KiB', ms?.janus?.rss_per_participant_kb, mv?.janus?.rss_per_participant_kb, 0);
  summary.scenarios.memory = { sfu: ms, videoroom: mv };
}

// scaling
const scaling = [];
for (const s of [1, 2, 4, 8, 16, 32, 64, 128]) {
  const a = load(`scaling-${s}-sfu`), b = load(`scaling-${s}-videoroom`);
  if (!a && !b) continue;
  scaling.push({
    subscribers: s,
    sfu: a && { us_per_fwd: a.janus?.cpu_us_per_forwarded_packet, cpu_pct: a.janus?.cpu_pct, delivered_pct: a.delivery?.delivered_pct, p99_ms: a.media?.delay_p99_ms, bot_us_per_rx: a.bot?.cpu_us_per_rx_packet },
    videoroom: b && { us_per_fwd: b.janus?.cpu_us_per_forwarded_packet, cpu_pct: b.janus?.cpu_pct, delivered_pct: b.delivery?.delivered_pct, p99_ms: b.media?.delay_p99_ms, bot_us_per_rx: b.bot?.cpu_us_per_rx_packet },
  });
}
summary.scaling = scaling;
writeFileSync(join(dir, 'scaling.dat'), '# S sfu_us_per_fwd videoroom_us_per_fwd sfu_p99_ms videoroom_p99_ms sfu_cpu_pct videoroom_cpu_pct\n' +
  scaling.map((x) => [x.subscribers, x.sfu?.us_per_fwd, x.videoroom?.us_per_fwd, x.sfu?.p99_ms, x.videoroom?.p99_ms,
    x.sfu?.cpu_pct, x.videoroom?.cpu_pct].map((v) => v ?? 'NaN').join(' ')).join('\n') + '\n');
writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');

const out = [];
out.push(`Machine: ${machine.cpu ?? '?'}, ${machine.cores ?? '?'} cores, ${machine.os ?? '?'}, kernel ${machine.kernel ?? '?'}; ` +
  `Janus ${machine.janus ?? '?'}, libsrtp2 ${machine.libsrtp2 ?? '?'}, libnice ${machine.libnice ?? '?'}, OpenSSL ${machine.openssl ?? '?'}; ` +
  `SRTP profile preferred by the bot: ${machine.srtp ?? '?'}; Janus event_loops (but the capacity table's own settings): ${machine.janus_event_loops ?? 'default'}; commit ${machine.commit ?? '?'}; ${machine.date ?? ''}`);
out.push('');
if (rows.length) {
  out.push('| measure | unit | janus.plugin.sfu | VideoRoom | ratio sfu/VideoRoom |');
  out.push('|---|---|---:|---:|---:|');
  out.push(...rows);
}
if (scaling.length) {
  out.push('');
  out.push('| subscribers | sfu us/fwd | VideoRoom us/fwd | ratio | sfu delivered % | VideoRoom delivered % | sfu p99 ms | VideoRoom p99 ms |');
  out.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const x of scaling)
    out.push(`| ${x.subscribers} | ${fmt(x.sfu?.us_per_fwd)} | ${fmt(x.videoroom?.us_per_fwd)} | ${ratio(x.sfu?.us_per_fwd, x.videoroom?.us_per_fwd)} | ` +
      `${fmt(x.sfu?.delivered_pct, 3)} | ${fmt(x.videoroom?.delivered_pct, 3)} | ${fmt(x.sfu?.p99_ms, 2)} | ${fmt(x.videoroom?.p99_ms, 2)} |`);
}

// capacity (bench/capacity.mjs): largest full-mesh room per Janus setting, ours next to VideoRoom
const cap = load('capacity');
if (cap?.searches?.length) {
  summary.capacity = cap;
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const setting = (l) => (l === 'default' ? 'default (loop per handle)' : `\`event_loops = ${l}\``);
  const plugin = (p) => (p === 'sfu' ? 'janus.plugin.sfu' : 'VideoRoom');
  const loadOf = (x) => (x ? `${fmt(x.loadavg_start, 1)} / ${fmt(x.others_cpu_pct, 0)}%` : 'n/a');
  const line = (x, size) => `| ${setting(x.loops)} | ${x.srtp} | ${plugin(x.plugin)} | ${size} | ${fmt(x.forwarded_pps, 0)} | ` +
    `${fmt(x.delivered_pct, 3)} | ${fmt(x.p99_ms, 1)} | ${fmt(x.janus_cpu_pct, 0)} | ${fmt(x.us_per_fwd, 1)} | ` +
    `${x.first_fail ? `${x.first_fail.participants}: ${fmt(x.first_fail.delivered_pct, 2)}%, p99 ${fmt(x.first_fail.p99_ms, 0)} ms` : 'n/a'} | ` +
    `${x.bottleneck} | ${loadOf(x.load_at_limit)} |`;
  const head = ['| Janus setting | SRTP | plugin | %s | forwarded packets/s | delivered % | p99 ms | Janus CPU % | us per forwarded packet | ' +
    'first failing size: delivered, p99 | what stops the next size | load avg / other processes\' CPU |',
  '|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|'];
  const o = cap.options ?? {};
  out.push('');
  out.push(`Capacity (bench/capacity.mjs; ${o.audioPps}+${o.videoPps} packets/s per publisher, ${o.seconds} s window after ${o.settle} s of settling, ` +
    `Janus on core ${o.janusCpu}, sfu-bot on core ${o.botCpu}; a size passes when every peer is up, delivered >= ${cap.criteria?.min_delivered_pct}% ` +
    `and p99 one-way delay < ${cap.criteria?.max_p99_ms} ms; ${cap.probes ?? '?'} probes in ${fmt((cap.wall_s ?? 0) / 60, 1)} min):`);
  out.push('');
  out.push('Largest full-mesh room (every participant publishes and subscribes to all others):');
  out.push('');
  out.push(head[0].replace('%s', 'largest room'), head[1]);
  for (const x of cap.searches.filter((x) => x.kind === 'mesh')) out.push(line(x, x.largest));
  const rooms = cap.searches.filter((x) => x.kind === 'rooms');
  if (rooms.length) {
    out.push('');
    out.push(`Most participants in full-mesh rooms of ${rooms[0].room_size}:`);
    out.push('');
    out.push(head[0].replace('%s', 'participants (rooms)'), head[1]);
    for (const x of rooms) out.push(line(x, `${x.largest} (${x.rooms})`));
  }
  if (cap.recommended_loops) out.push('', `Best setting for janus.plugin.sfu in this run: \`event_loops = ${cap.recommended_loops}\`.`);
}
console.log(out.join('\n'));
