// Launch Debian's Chromium headless through puppeteer-core (no browser
// download: the executable is the system's), with the flags this machine
// needs (no sandbox as root, no background networking).
import puppeteer from 'puppeteer-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function chromiumPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  const found = candidates.find((p) => p && existsSync(p));
  if (!found) {
    throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install -y chromium) or set CHROMIUM');
  }
  return found;
}

export async function withBrowser(fn) {
  const profile = mkdtempSync(join(tmpdir(), 'cypdash-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--hide-scrollbars',
    ],
  });
  try {
    return await fn(browser);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/// Open a local HTML file in a new page.
export async function openFile(browser, file, width = 1280, height = 1000) {
  const page = await browser.newPage();
  await page.setViewport({ width, height, deviceScaleFactor: 1 });
  const url = new URL(`file://${file.startsWith('/') ? file : join(process.cwd(), file)}`);
  await page.goto(url.href, { waitUntil: 'load', timeout: 120000 });
  return page;
}
