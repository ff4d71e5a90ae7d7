/**
 * The e2e harness: the system Chromium driven by playwright-core (no browser downloads), and
 * screenshots kept as artefacts in test-results/screenshots/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const root = path.join(import.meta.dirname, '..', '..');

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** False when there is no Chromium to drive: e2e suites skip with {@link skipReason}. */
export const browserAvailable: boolean = fs.existsSync(chromiumPath);
export const skipReason: string = browserAvailable
  ? ''
  : `no Chromium at ${chromiumPath}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`;

export const screenshotDir = path.join(root, 'test-results', 'screenshots');

/** Launches headless Chromium with the flags that keep it off the (closed) network. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The test server serves build/: fail loudly, not mysteriously, when nobody built it. */
export function assertAppBuilt(): void {
  const shell = path.join(root, 'build', 'pages', 'shell.html');
  if (!fs.existsSync(shell)) throw new Error(`the app is not built (${shell} is missing): run \`npx vite build\` first`);
}

/**
 * The app as the next deploy serves it, in a temporary folder (for WATCHFLOOR_APP_DIR): the build with another
 * version (`_app/version.json`) and a changed service worker. The pages are this build's, so they still differ
 * from the version the server names.
 */
export function nextDeploy(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-deployed-'));
  fs.cpSync(path.join(root, 'build'), folder, { recursive: true });
  fs.writeFileSync(path.join(folder, '_app', 'version.json'), JSON.stringify({ version: 'the-next-build' }));
  fs.appendFileSync(path.join(folder, 'service-worker.js'), '\n// the next deploy\n');
  return folder;
}

/** Whether a new service worker is installed and waits to take the page over from the one in charge. */
export function workerWaiting(page: Page): Promise<boolean> {
  return page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting != null);
}

/** Saves a full-page PNG as test-results/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name.replace(/[^a-z0-9-_]+/gi, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Collects what the page logs as errors (CSP violations, uncaught exceptions), to assert there are none.
 * Refused API calls (4xx) are the app asking "am I signed in?" and are left out.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) return;
    errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

/** A fresh browser context at a desktop size, its page, and the errors the page logs. */
export async function newPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page, errors: collectPageErrors(page) };
}

/** Fills in the sign-in form on the page that shows it, as a person would. */
export async function signInThroughForm(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
