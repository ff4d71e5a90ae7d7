import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { assertAppBuilt, browserAvailable, collectPageErrors, launchBrowser, screenshot, skipReason } from './browser.ts';

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

  function alertmanager(status: 'firing' | 'resolved', summary: string) {
    return fetch(`${server.url}/api/v1/ingest/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="CoreSwitchDown"}',
        truncatedAlerts: 0,
        status,
        receiver: 'watchfloor',
        groupLabels: { alertname: 'CoreSwitchDown' },
        commonLabels: {},
        commonAnnotations: {},
        externalURL: 'http://alertmanager.example',
        alerts: [
          {
            status,
            labels: { alertname: 'CoreSwitchDown', severity: 'critical', client: 'acme', instance: 'core-sw-01' },
            annotations: { summary },
            startsAt: '2026-11-20T10:00:00Z',
            endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-20T10:05:00Z',
            generatorURL: 'http://prometheus.example/graph',
            fingerprint: 'e2e-core-sw-01',
          },
        ],
      }),
    });
  }

  it('shows a posted Alertmanager alert within 2 s, as text, and removes it when it resolves', async () => {
    const user = await server.addUser('nadia@example.com', 'engineer', 'Nadia');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
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
