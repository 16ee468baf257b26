// Shared by the flow explorer's browser tests, its measurements and its screenshots: a real
// `ixgw serve --demo` on a loopback port the system picks, over a throwaway SQLite file, plus a
// 200-page flow fed through the ingest API, and Debian's Chromium driven by playwright-core.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { deflateSync, crc32 } from 'node:zlib';
import { chromium } from 'playwright-core';

export const TENANT = '12345678';
export const KEY = 'demo-application-key';
export const STAGING_KEY = 'demo-staging-key';
/** The 200-page flow the tests add to the demo. */
export const BIG_ID = 'big-200';
export const BIG_PAGES = 200;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function binary() {
  return process.env.IXGW_BIN || join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug', 'ixgw');
}

/**
 * The address the server prints once it listens (`listening on http://…`, after the demo's banner);
 * every line goes to `banner`.
 */
function listeningAddress(child, banner) {
  return new Promise((ok, fail) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      banner.push(line);
      if (line.startsWith('listening on ')) ok(line.slice('listening on '.length));
    });
    child.once('exit', (code) => fail(new Error(`the server exited (${code}) before it listened`)));
    setTimeout(() => fail(new Error('the server printed no address in 30 s')), 30_000).unref();
  });
}

async function waitReady(base, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not become ready in 30 s');
}

/** A one-colour RGB PNG of w×h pixels. */
export function png(w, h, [r, g, b]) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: h }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/** A flow of `n` pages: typed text, a choice from a list, and a photo every tenth page. */
export function bigRecord(n = BIG_PAGES) {
  const start = Date.now() - 2 * 3600 * 1000;
  const pages = [];
  for (let i = 0; i < n; i++) {
    const choices = [
      { id: `t${i}`, choiceValue: `answer ${i + 1}`, textInput: { placeHolderText: `Question ${i + 1}`, textInputFormat: 'TEXT' } },
      {
        id: `s${i}`, choiceValue: `o${i % 3}`, selectFromList: {
          selectFromListOptions: [0, 1, 2].map((k) => ({ id: `o${k}`, buttonState: 'NORMAL', buttonVisible: true, buttonLabel: `Option ${k}` })),
        },
      },
    ];
    if (i % 10 === 9) choices.push({ id: `p${i}`, choiceValue: '', uploadImageList: { images: [{ imagePath: '/mnt/big/photo.png' }] } });
    pages.push({
      pageNavigation: { navigationTitle: `Step ${i + 1}`, pageReferenceName: `step${i + 1}` },
      pageContent: {
        contentHeader: { id: `h${i}`, innerHtml: `<span>Step <b>${i + 1}</b> of ${n}</span>` },
        contentSections: [{ id: `sec${i}`, sectionLabel: `Section ${i + 1}`, sectionChoices: choices }],
      },
      timestamp: start + i * 15000,
    });
  }
  return {
    id: BIG_ID, customer_id: 'big-customer', started_at: new Date(start - 1000).toISOString(),
    ended_at: new Date(start + n * 15000).toISOString(), pages,
    photos: [{ path: '/mnt/big/photo.png', mime: 'image/png', data_base64: png(240, 160, [40, 110, 180]).toString('base64') }],
  };
}

/**
 * Starts the demo gateway. Returns {base, explorer, banner, logPath, stop}. stdout (the demo's
 * banner, which prints the demo key on purpose) is kept apart from the log (stderr).
 */
export async function startGateway({ big = true, env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'ixgw-ui-'));
  const database = `sqlite://${join(dir, 'demo.db')}`;
  const logPath = process.env.IXGW_UI_LOG || join(dir, 'server.log');
  const child = spawn(binary(), ['serve', '--demo', '--listen', '127.0.0.1:0', '--database', database], {
    stdio: ['ignore', 'pipe', openSync(logPath, 'a')],
    env: { ...process.env, ...env },
  });
  // A script that dies before stop() must not leave the server running.
  process.once('exit', () => child.kill('SIGTERM'));
  const banner = [];
  const listening = listeningAddress(child, banner);
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let base;
  try {
    base = await listening;
    await waitReady(base, child);
    if (big) {
      const key = execFileSync(binary(), ['--database', database, 'key', 'add', '--tenant', TENANT, '--scope', 'ingest'], { encoding: 'utf8' }).trim();
      const res = await fetch(`${base}/v1/interactions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(bigRecord()),
      });
      const answer = await res.text();
      if (!res.ok || !answer.includes('"accepted":1')) throw new Error(`the big flow was refused: ${res.status} ${answer}`);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, explorer: `${base}/ui/`, banner, logPath, log: () => readFileSync(logPath, 'utf8'), stop };
}

/** Debian's Chromium, headless, with the flags this machine needs (no sandbox as root, no network). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Waits until the view of the current address has its data (app.js marks <main data-ready>). */
export async function ready(page) {
  await page.waitForSelector('main[data-ready="true"]', { timeout: 15000 });
}

/** Opens the explorer at `hash` and signs in (the sign-in form comes first in a new tab). */
export async function signIn(page, explorer, { tenant = TENANT, key = KEY, environment = '', hash = '#/' } = {}) {
  await page.goto(`${explorer}${hash}`);
  await page.getByLabel('Tenant (account id)').fill(tenant);
  await page.getByLabel('Application key').fill(key);
  if (environment) await page.getByLabel(/^Environment/).fill(environment);
  await navigate(page, () => page.getByRole('button', { name: 'Sign in' }).click());
}

/**
 * Does `action` (a click, a key, back, a reload) that shows another view and waits for that view's
 * data. The mark is cleared first: the view before had it, and the new view's render starts only
 * when the browser gets to the hashchange, after the action has returned.
 */
export async function navigate(page, action) {
  await page.evaluate(() => { delete document.getElementById('main').dataset.ready; });
  await action();
  await ready(page);
}

/** Goes to `hash` in the signed-in tab and waits for its data. */
export async function go(page, hash) {
  await navigate(page, () => page.evaluate((h) => { location.hash = h; }, hash));
}
