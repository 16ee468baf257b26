// Measures the flow explorer as docs/EXPLORER.md reports it (not part of the tests: timings are
// for the benchmark, never for pass/fail): first contentful paint of /ui/, the time until the demo
// flow and a 200-page flow are shown, and frame times while scrolling the 200-page flow.
//
//   IXGW_BIN=target/release/ixgw node tests/ui/measure.mjs [runs]

import { startGateway, launchBrowser, TENANT, KEY, BIG_ID } from './harness.mjs';

const runs = Number(process.argv[2] || 20);
const gateway = await startGateway();
const browser = await launchBrowser();

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
}
const fmt = (s) => `median ${s.median.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(1)} ms`;

/** A new tab (empty cache), signed in or not, opened at `hash`; returns its timings. */
async function load(hash, signedIn) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  if (signedIn) {
    await context.addInitScript(([tenant, key]) => {
      sessionStorage.setItem('ixgw.credentials', JSON.stringify({ tenant, key, environment: '' }));
    }, [TENANT, KEY]);
  }
  const page = await context.newPage();
  await page.goto(`${gateway.explorer}${hash}`);
  await page.waitForSelector('main[data-ready="true"]', { timeout: 30000 });
  const t = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
    ready: performance.now(),
  }));
  return { ...t, page, context };
}

async function repeat(hash, signedIn) {
  const fcp = [];
  const ready = [];
  for (let i = 0; i < runs; i++) {
    const r = await load(hash, signedIn);
    fcp.push(r.fcp);
    ready.push(r.ready);
    await r.context.close();
  }
  return { fcp: stats(fcp), ready: stats(ready) };
}

// The floor on this machine and browser: a plain-text answer of the same server.
const floor = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${gateway.base}/healthz`);
  await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0);
  floor.push(await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime));
  await context.close();
}
console.log(`/healthz (plain text, the floor), ${runs} cold loads: first contentful paint ${fmt(stats(floor))}`);
const signIn = await repeat('', false);
console.log(`/ui/ (sign-in), ${runs} cold loads: first contentful paint ${fmt(signIn.fcp)}`);
const demo = await repeat('#/flow/040100713', true);
console.log(`#/flow/040100713 (6 pages), ${runs} cold loads: first contentful paint ${fmt(demo.fcp)}; timeline shown ${fmt(demo.ready)}`);
const big = await repeat(`#/flow/${BIG_ID}`, true);
console.log(`#/flow/${BIG_ID} (200 pages), ${runs} cold loads: timeline shown ${fmt(big.ready)}`);

// Scrolling the 200-page flow from top to bottom, 120 px a frame (a fast wheel or fling).
const { page, context } = await load(`#/flow/${BIG_ID}`, true);
const frames = await page.evaluate(async () => {
  const times = [];
  await new Promise((r) => requestAnimationFrame(r));
  let last = performance.now();
  while (window.scrollY + window.innerHeight < document.documentElement.scrollHeight - 2) {
    window.scrollBy(0, 120);
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    times.push(now - last);
    last = now;
  }
  return times;
});
const long = frames.filter((f) => f > 1000 / 60 + 1).length;
console.log(`scrolling 200 pages: ${frames.length} frames, ${fmt(stats(frames))}, ${long} frames over 17.7 ms`);
await context.close();
await browser.close();
await gateway.stop();
