// Writes the screenshots of docs/EXPLORER.md and the README (docs/images/explorer-*.png) from a
// running demo, so that they show what the page really looks like.
//
//   IXGW_BIN=target/debug/ixgw node tests/ui/screenshots.mjs

import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import { startGateway, launchBrowser, signIn, go } from './harness.mjs';

const out = resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/images');
mkdirSync(out, { recursive: true });
const gateway = await startGateway({ big: false });
const browser = await launchBrowser();

async function shoot(name, page, { fullPage = false, scrollTo } = {}) {
  if (scrollTo) {
    await page.locator(scrollTo).scrollIntoViewIfNeeded();
    await page.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'start' }), scrollTo);
  }
  await page.waitForFunction(() => [...document.querySelectorAll('.thumb-frame')]
    .filter((f) => f.getBoundingClientRect().top < innerHeight).every((f) => !f.textContent.includes('Photo…'))
    && document.querySelectorAll('section.wire[aria-busy]').length === 0);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(out, `explorer-${name}.png`), fullPage });
  console.log(`docs/images/explorer-${name}.png`);
}

const context = await browser.newContext({ viewport: { width: 1100, height: 820 }, deviceScaleFactor: 1 });
const page = await context.newPage();
await page.goto(gateway.explorer);
await shoot('sign-in', page);
await signIn(page, gateway.explorer, { hash: '#/flow/040100713' });
await shoot('timeline', page);
await shoot('photos', page, { scrollTo: '#page-3' });
await go(page, '#/flow/040100713/wire');
await shoot('wire', page);
await go(page, '#/customer/00001a57JGQ00BVU');
await shoot('customer', page);
await go(page, '#/flow/040100766');
await shoot('hostile', page);
await context.close();

const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 1 });
const small = await phone.newPage();
await signIn(small, gateway.explorer, { hash: '#/flow/040100713' });
await shoot('phone', small, { scrollTo: '#page-2' });
await phone.close();
await browser.close();
await gateway.stop();
