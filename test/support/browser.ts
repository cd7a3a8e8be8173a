/**
 * A real browser for the dashboard tests: Debian's Chromium (installed by the test setup when
 * missing) driven by Playwright (playwright-core, no browser download). Console errors and CSP
 * violations are collected so tests can assert the page ran clean; screenshots go to
 * .shoal/screenshots/.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureDebianPackage } from './debian.ts';

export const SCREENSHOTS = resolve(import.meta.dirname, '..', '..', '.shoal', 'screenshots');

export async function startBrowser(log: (line: string) => void = () => {}): Promise<{
  browser: Browser;
  page: (opts?: { colorScheme?: 'light' | 'dark' }) => Promise<{ page: Page; errors: string[] }>;
  screenshot: (page: Page, name: string) => Promise<string>;
  close: () => Promise<void>;
}> {
  await ensureDebianPackage('/usr/bin/chromium', 'chromium', log);
  await ensureDebianPackage('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 'fonts-dejavu-core', log);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    browser,
    async page(opts = {}) {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 900 },
        colorScheme: opts.colorScheme ?? 'light',
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      return { page, errors };
    },
    async screenshot(page, name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}
