// browser.mjs - what the browser tests share: headless Chromium (playwright-core, Debian's /usr/bin/chromium) and
// headless Firefox (puppeteer-core over WebDriver BiDi, Debian's /usr/bin/firefox-esr), both with a fake camera
// and microphone and a fresh profile; the tiny HTTP server of the test page (tests/e2e/browser/), polling with
// diagnostics, and the diagnostics themselves. Neither library ever downloads a browser: both are the -core
// packages and are given Debian's executables.
//
// Firefox's ICE needs the test network of scripts/netns.sh (browsers in the client namespace with a default
// route, Janus in the server namespace): see the head of that script for why it fails with everything in one
// namespace. FIREFOX_DUMPIO=1 copies Firefox's stdout/stderr here (with MOZ_LOG=nicer:5,signaling:3 for ICE).
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { topSrcDir } from './janus.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX ?? '/usr/bin/firefox-esr';
export const PHASE_MS = Number(process.env.BROWSER_PHASE_MS ?? 60000);
/** The adapter bundle the pages load: npm naf-janus-adapter 4.0.1, or NAF_ADAPTER_JS (e.g. a 3.0.20 bundle). */
export const ADAPTER = process.env.NAF_ADAPTER_JS
  ?? join(topSrcDir, 'node_modules', 'naf-janus-adapter', 'dist', 'naf-janus-adapter.js');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'];

/**
 * Firefox preferences of the tests: fake devices without a prompt, host candidates in clear (Janus ignores mDNS
 * names), and no H.264 at all: Debian's firefox-esr has no OpenH264 plugin offline, and the platform decoder
 * path is switched off too, so the page is the "Firefox without H.264" of docs/PROTOCOL.md §4 on every machine.
 * Timers of pages in the background are not throttled (several pages share one browser).
 */
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.gmp-gmpopenh264.enabled': false,
  'media.gmp-gmpopenh264.autoupdate': false,
  'media.navigator.mediadatadecoder_h264_enabled': false,
  'media.webrtc.hw.h264.enabled': false,
  'media.autoplay.default': 0,
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
};

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

/**
 * One headless browser with a fresh profile: { kind, context, close() } where context.newPage() opens a page
 * (close also removes the profile). kind 'chromium' (default): playwright-core's persistent context. kind
 * 'firefox': puppeteer-core over WebDriver BiDi; its pages offer what the tests use of playwright's (goto,
 * evaluate(fn, arg), exposeFunction, on('console'|'pageerror'), close), and each is a window of its own so that
 * none runs as a background tab.
 */
export async function launchBrowser(kind = 'chromium') {
  const profileDir = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), `sfu-e2e-${kind}-`));
  if (kind === 'firefox') {
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({
      browser: 'firefox', executablePath: FIREFOX, headless: true, userDataDir: profileDir,
      extraPrefsFirefox: FIREFOX_PREFS, dumpio: Boolean(process.env.FIREFOX_DUMPIO),
      protocolTimeout: 4 * PHASE_MS,
    });
    return {
      kind,
      context: { newPage: () => browser.newPage({ type: 'window' }) },
      async close() {
        await browser.close().catch(() => {});
        rmSync(profileDir, { recursive: true, force: true });
      },
    };
  }
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
  });
  return {
    kind,
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
