// browser.mjs - what the browser tests share: headless Chromium (playwright-core, Debian's /usr/bin/chromium,
// fake camera and microphone, a fresh profile), the tiny HTTP server of the test page (tests/e2e/browser/),
// polling with diagnostics, and the diagnostics themselves.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topSrcDir } from './janus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const PHASE_MS = Number(process.env.BROWSER_PHASE_MS ?? 60000);
export const ADAPTER = join(topSrcDir, 'node_modules', 'naf-janus-adapter', 'dist', 'naf-janus-adapter.js');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn until it returns a truthy value; throws with the last value and `diagnostics()` after timeoutMs.
 */
export async function until(what, fn, { timeoutMs = PHASE_MS, intervalMs = 500, diagnostics = async () => '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms: ${what}; last: ${
        last instanceof Error ? last.stack : JSON.stringify(last)}\n${await diagnostics()}`);
    }
    await sleep(intervalMs);
  }
}

/** The recent log and occupants of every page, its console, and the tail of Janus's log. */
export async function pageDiagnostics(pages, consoleLogs, janus) {
  const parts = [];
  for (const [id, p] of Object.entries(pages)) {
    let st = null;
    try {
      st = await p.evaluate(() => ({
        log: window.sfu.state.log.slice(-20),
        occ: window.sfu.state.adapter ? window.sfu.occupants() : null,
      }));
    } catch { /* page closed */ }
    parts.push(`--- page ${id}: ${JSON.stringify(st?.occ)}\n${(st?.log ?? []).join('\n')}\n${
      (consoleLogs[id] ?? []).slice(-15).join('\n')}`);
  }
  try {
    parts.push(`--- janus log (tail)\n${janus.logText().split('\n').slice(-30).join('\n')}`);
  } catch { /* stopped */ }
  return parts.join('\n');
}

/** Serves tests/e2e/browser/page.{html,js} and the unmodified adapter bundle on 127.0.0.1; resolves with the server. */
export function serveTestPage() {
  const pageDir = join(here, '..', 'browser');
  const files = {
    '/': ['text/html', join(pageDir, 'page.html')],
    '/index.html': ['text/html', join(pageDir, 'page.html')],
    '/page.js': ['text/javascript', join(pageDir, 'page.js')],
    '/naf-janus-adapter.js': ['text/javascript', ADAPTER],
  };
  const srv = createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    // naf-janus-adapter sends HEAD to the page and reads the Date header (Node adds it).
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(f[1]));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

/** One headless Chromium with a fresh profile: { context, close() } (close also removes the profile). */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profileDir = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), 'sfu-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

/**
 * deliver(from, transport, to, expect): page `from` sends a tagged chat message on `transport` ("reliable",
 * "unreliable" or "websocket") to `to` (null: everyone) until every page of `expect` received it (the unreliable
 * channel is re-sent); returns the tag. `ev(id, fn, arg)` evaluates in a page; `until` polls (with diagnostics).
 */
export function deliverer(ev, until) {
  let tagN = 0;
  return async function deliver(from, transport, to, expect, { resend = transport === 'unreliable' } = {}) {
    const tag = `t${++tagN}-${from}-${transport}`;
    const send = () => ev(from, (a) => window.sfu.send(a.transport, a.to, 'chat', { tag: a.tag, from: a.from, text: 'hi' }),
      { transport, to, tag, from });
    await send();
    const wantSource = transport === 'websocket' ? 'janus-event' : `janus-${transport}`;
    await until(`${transport} message ${tag} from ${from} reaches ${expect}`, async () => {
      let all = true;
      for (const id of expect) {
        const got = await ev(id, (x) => window.sfu.received(x), tag);
        if (!got.some((m) => m.source === wantSource && m.dataType === 'chat' && m.data.from === from)) all = false;
      }
      if (!all && resend) await send();
      return all;
    });
    return tag;
  };
}
