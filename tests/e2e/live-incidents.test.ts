import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { assertAppBuilt, browserAvailable, launchBrowser, newPage, nextDeploy, screenshot, signInThroughForm, skipReason, workerWaiting } from './browser.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';

describe.skipIf(!browserAvailable)(`incidents arrive live in the console${skipReason ? ` (${skipReason})` : ''}`, () => {
  let server: TestServer;
  let browser: Browser;
  let token: string;

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer('memory://');
    browser = await launchBrowser();
    ({ token } = await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' }));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  const alertmanager = (status: 'firing' | 'resolved', summary: string) =>
    postAlertmanager(server.url, token, [
      { name: 'CoreSwitchDown', severity: 'critical', client: 'acme', instance: 'core-sw-01', status, summary, fingerprint: 'e2e-core-sw-01' },
    ]);

  it('shows a posted Alertmanager alert within 2 s, as text, and removes it when it resolves', async () => {
    const user = await server.addUser('nadia@example.com', 'engineer', 'Nadia');
    const { context, page, errors } = await newPage(browser);
    await page.goto(`${server.url}/login`);
    await signInThroughForm(page, user.email, user.password);
    await page.locator('[data-testid="connection"][data-status="live"]').waitFor();
    await page.getByTestId('incident-list-empty').waitFor();

    // Hostile text must arrive as text, never as markup.
    const summary = 'Core switch down <img src=x onerror="window.__pwned=1">';
    expect((await alertmanager('firing', summary)).status).toBe(200);
    const row = page.locator('[data-testid="incident-row"][data-severity="critical"]');
    await row.waitFor({ timeout: 2000 });
    await expect(row.innerText()).resolves.toContain(summary);
    await expect(row.innerText()).resolves.toContain('Triggered');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await screenshot(page, 'console-incident-live');

    expect((await alertmanager('resolved', summary)).status).toBe(200);
    await row.waitFor({ state: 'detached', timeout: 2000 });
    await page.getByTestId('incident-list-empty').waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe.skipIf(!browserAvailable)(`the console after the server restarts${skipReason ? ` (${skipReason})` : ''}`, () => {
  // PGlite on disk, as `npm start` runs it: the new server opens the same database, sessions included.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-console-restart-'));
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * The app registers its service worker 2 s after it starts: stopping the server before that makes Chromium log
   * that it could not fetch the worker's script, which is not what these tests are about.
   */
  const workerRegistered = (page: Page) => page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));

  it('comes back by itself (a deploy restarts the server): Live again, and what happens next arrives', async () => {
    const { token } = await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' });
    const user = await server.addUser('rosa@example.com', 'engineer', 'Rosa');
    const { context, page, errors } = await newPage(browser);
    await page.goto(`${server.url}/login`);
    await signInThroughForm(page, user.email, user.password);
    const indicator = page.locator('[data-testid="connection"]');
    await page.locator('[data-testid="connection"][data-status="live"]').waitFor();
    await page.getByTestId('incident-list-empty').waitFor();
    await workerRegistered(page);

    const port = server.port;
    await server.stop();
    await page.locator('[data-testid="connection"][data-status="reconnecting"]').waitFor({ timeout: 5000 });
    // Same port, same database; nobody touches the page.
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port) });
    await page.locator('[data-testid="connection"][data-status="live"]').waitFor({ timeout: 30_000 });

    const posted = await postAlertmanager(server.url, token, [
      { name: 'UplinkDown', severity: 'critical', client: 'acme', instance: 'edge-01', summary: 'Uplink down after the restart', fingerprint: 'e2e-restart' },
    ]);
    expect(posted.status).toBe(200);
    await page.locator('[data-testid="incident-row"]', { hasText: 'Uplink down after the restart' }).waitFor({ timeout: 5000 });
    await expect(indicator.getAttribute('data-status')).resolves.toBe('live');
    expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    await context.close();
  });

  it('resumes where it was: the restarted server sends what changed while the console was away, not every incident again', async () => {
    const { token } = await addSource(server.context.database.db, { name: 'prometheus-resume', format: 'alertmanager' });
    const alert = (name: string, summary: string, status: 'firing' | 'resolved' = 'firing') =>
      ({ name, severity: 'critical', client: 'acme', instance: name.toLowerCase(), summary, fingerprint: `e2e-resume-${name}`, status }) as const;
    const user = await server.addUser('omar@example.com', 'engineer', 'Omar');
    const { context, page, errors } = await newPage(browser);
    await page.goto(`${server.url}/login`);
    await signInThroughForm(page, user.email, user.password);
    await page.locator('[data-testid="connection"][data-status="live"]').waitFor();
    expect((await postAlertmanager(server.url, token, [alert('DiskFull', 'Disk full on db-01'), alert('FanFailed', 'Fan failed on sw-02')])).status).toBe(200);
    const row = (text: string) => page.locator('[data-testid="incident-row"]', { hasText: text });
    await row('Disk full on db-01').waitFor();
    await row('Fan failed on sw-02').waitFor();
    await workerRegistered(page);

    const port = server.port;
    await server.stop();
    await page.locator('[data-testid="connection"][data-status="reconnecting"]').waitFor({ timeout: 5000 });
    // While the console is away, a server on the same database that it cannot reach (another port) changes things:
    // one incident resolves, another opens.
    const elsewhere = await startTestServer(null, { WATCHFLOOR_DATA: dataDir });
    expect((await postAlertmanager(elsewhere.url, token, [alert('DiskFull', 'Disk full on db-01', 'resolved'), alert('LinkDown', 'Link down on edge-07')])).status).toBe(200);
    await elsewhere.stop();

    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port) });
    await page.locator('[data-testid="connection"][data-status="live"]').waitFor({ timeout: 30_000 });
    await row('Link down on edge-07').waitFor({ timeout: 5000 });
    await row('Disk full on db-01').waitFor({ state: 'detached', timeout: 5000 });
    await expect(row('Fan failed on sw-02').count()).resolves.toBe(1);
    // The restarted server answered the console with a catch-up, and sent it no snapshot.
    const answers = async () => Object.fromEntries((await server.context.metrics.feedAnswers.get()).values.map((v) => [v.labels.answer, v.value]));
    await expect(answers()).resolves.toEqual({ resume: 1 });
    await screenshot(page, 'console-resumed-after-restart');
    // And it is live: what happens next arrives.
    expect((await postAlertmanager(server.url, token, [alert('FanFailed', 'Fan failed on sw-02', 'resolved')])).status).toBe(200);
    await row('Fan failed on sw-02').waitFor({ state: 'detached', timeout: 5000 });
    expect(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    await context.close();
  });

  /**
   * A deploy: the server restarts serving another build (its `_app/version.json` and its service worker changed).
   * Open pages learn it from their socket's `session:ready` and fetch the new build at once, not at their hourly
   * check: until they reload they run code that may not understand the new server's frames.
   */
  it('a deploy: the open console fetches the new build as soon as the restarted server says it serves one, and offers it', async () => {
    const deployed = nextDeploy();
    const user = await server.addUser('ines@example.com', 'engineer', 'Ines');
    const withWorker = await newPage(browser);
    // Without a service worker (a plain-HTTP address: browsers allow none there), a reload brings the new build.
    const withoutContext = await browser.newContext({ serviceWorkers: 'block' });
    const without = { context: withoutContext, page: await withoutContext.newPage() };
    for (const { page } of [withWorker, without]) {
      await page.goto(`${server.url}/login`);
      await signInThroughForm(page, user.email, user.password);
      await page.locator('[data-testid="connection"][data-status="live"]').waitFor();
    }
    await withWorker.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const offered = (page: Page) => page.getByTestId('update-available');
    await expect(offered(withWorker.page).count()).resolves.toBe(0);

    const port = server.port;
    await server.stop();
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port), WATCHFLOOR_APP_DIR: deployed });
    try {
      // The worker's new version installed and waits: the console offers it, within seconds, not within the hour.
      await offered(withWorker.page).waitFor({ timeout: 20_000 });
      await offered(without.page).waitFor({ timeout: 20_000 });
      await screenshot(withWorker.page, 'console-update-after-deploy');
      await expect(workerWaiting(withWorker.page)).resolves.toBe(true);
      const reloaded = withWorker.page.waitForEvent('load');
      await withWorker.page.getByRole('button', { name: 'Reload' }).click();
      await reloaded;
      await withWorker.page.locator('[data-testid="connection"][data-status="live"]').waitFor({ timeout: 30_000 });
      // Reloaded onto the waiting worker: it took over (a plain reload would have left it waiting).
      await expect(workerWaiting(withWorker.page)).resolves.toBe(false);
      // This test's deployed pages are the old build's (only the version and the worker changed), so they still
      // differ from what the server says: offered once per server build, a reload must not loop.
      await without.page.getByRole('button', { name: 'Reload' }).click();
      await without.page.locator('[data-testid="connection"][data-status="live"]').waitFor({ timeout: 30_000 });
      await expect(offered(without.page).count()).resolves.toBe(0);
      expect(withWorker.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    } finally {
      await withWorker.context.close();
      await without.context.close();
      // The tests after this one run on the build itself again.
      await server.stop();
      server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port) });
      fs.rmSync(deployed, { recursive: true, force: true });
    }
  });
});
