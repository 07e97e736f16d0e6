// What the browser scenarios share: their settings, Chromium, and the problems pages report.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

export const STEP_TIMEOUT = 15_000;

/** A setting passed by tests/api/browser.rs. */
export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** The folder for screenshots, made if missing. */
export function shotsDir() {
  const dir = env('SHOTS_DIR');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Debian's headless Chromium (or `CHROMIUM`). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** Records the page's script errors and console errors (CSP violations among them) in
 *  `problems`, except console errors that contain one of `expected`. */
export function watch(page, name, problems, expected = []) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.some((e) => m.text().includes(e))) problems.push(`${name} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${name} script error: ${e.message}`));
}
