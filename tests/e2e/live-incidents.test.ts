import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { assertAppBuilt, browserAvailable, launchBrowser, newPage, screenshot, signInThroughForm, skipReason } from './browser.ts';
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
