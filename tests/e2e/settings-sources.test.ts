import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { assertAppBuilt, browserAvailable, collectPageErrors, launchBrowser, screenshot, skipReason } from './browser.ts';

describe.skipIf(!browserAvailable)(`managing alert sources${skipReason ? ` (${skipReason})` : ''}`, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer('memory://');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  async function signedInPage(email: string, password: string, next: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const errors = collectPageErrors(page);
    await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === next);
    return { context, page, errors };
  }

  /** A minimal Alertmanager v4 webhook, as Alertmanager posts it. */
  function alertmanagerWebhook(token: string): Promise<Response> {
    return fetch(`${server.url}/api/v1/ingest/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="HighCPU"}',
        truncatedAlerts: 0,
        status: 'firing',
        receiver: 'watchfloor',
        groupLabels: { alertname: 'HighCPU' },
        commonLabels: { alertname: 'HighCPU', severity: 'critical' },
        commonAnnotations: {},
        externalURL: 'https://alertmanager.acme.example',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'HighCPU', severity: 'critical', instance: 'core-sw-01' },
            annotations: { summary: 'CPU above 95% on core-sw-01' },
            startsAt: '2025-03-01T08:15:00Z',
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'https://prometheus.acme.example/graph',
            fingerprint: 'a1b2c3d4e5f60718',
          },
        ],
      }),
    });
  }

  it('lets an admin add an Alertmanager source whose token, shown once, is accepted by the webhook', async () => {
    const ada = await server.addUser('ada@example.com', 'admin', 'Ada Admin');
    const { context, page, errors } = await signedInPage(ada.email, ada.password, '/settings/users');

    // The settings navigation leads from users to sources.
    const nav = page.getByTestId('settings-nav');
    await expect(nav.getByRole('link', { name: /Users/ }).getAttribute('aria-current')).resolves.toBe('page');
    await nav.getByRole('link', { name: /Sources/ }).click();
    await page.waitForURL(/\/settings\/sources$/);
    await page.getByTestId('no-sources').waitFor();
    await expect(nav.getByRole('link', { name: /Sources/ }).getAttribute('aria-current')).resolves.toBe('page');

    const form = page.getByTestId('add-source');
    await form.getByLabel('Name').fill('Prometheus EU-West');
    await form.getByLabel('Format').selectOption('alertmanager');
    await form.getByLabel('Default client').fill('acme');
    await form.getByLabel('Rate limit').fill('600');
    await form.getByRole('button', { name: 'Add source' }).click();

    const reveal = page.getByTestId('source-token');
    await reveal.waitFor();
    await expect(reveal.innerText()).resolves.toContain('Shown only once');
    const token = await page.getByTestId('source-token-value').inputValue();
    expect(token).toMatch(/^wfs_\S{20,}$/);

    // The snippet shows where the token goes in alertmanager.yml, as text.
    const snippet = await page.getByTestId('setup-snippet-text').innerText();
    expect(snippet).toContain('webhook_configs:');
    expect(snippet).toContain(`url: ${server.url}/api/v1/ingest/alertmanager`);
    expect(snippet).toContain(`credentials: ${token}`);

    const row = page.locator('[data-testid="source-row"][data-name="Prometheus EU-West"]');
    const rowText = await row.innerText();
    expect(rowText).toContain(`${token.slice(0, 8)}…`);
    expect(rowText).toContain('acme');
    expect(rowText).toContain('600/min');
    await screenshot(page, 'sources-token-shown');

    // Alertmanager posting with the token copied from the page is accepted.
    const accepted = await alertmanagerWebhook(token);
    expect(accepted.status).toBe(200);
    await expect(accepted.json()).resolves.toMatchObject({ status: 'committed', signals: 1 });

    // The same name again is refused, with the server's message shown inline.
    await form.getByLabel('Name').fill('Prometheus EU-West');
    await form.getByRole('button', { name: 'Add source' }).click();
    await form.getByText('already exists').waitFor();
    await screenshot(page, 'sources-duplicate-name');

    // Only Grafana signs its webhooks: the HMAC secret appears for it alone.
    expect(await form.getByLabel('HMAC secret').count()).toBe(0);
    await form.getByLabel('Format').selectOption('grafana');
    await form.getByLabel('HMAC secret').waitFor();
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'sources-grafana-form');

    // After a reload the token is gone for good: only its prefix remains.
    await page.reload();
    await row.waitFor();
    expect(await reveal.count()).toBe(0);
    await expect(row.getByTestId('token-prefix').innerText()).resolves.toBe(`${token.slice(0, 8)}…`);
    expect(await page.locator('body').innerText()).not.toContain(token);
    await screenshot(page, 'sources-list');

    expect(errors).toEqual([]);
    await context.close();
  });

  it('tells a non-admin they need the admin role', async () => {
    const erin = await server.addUser('erin@example.com', 'engineer', 'Erin Okafor');
    const { context, page, errors } = await signedInPage(erin.email, erin.password, '/');
    await page.goto(`${server.url}/settings/sources`);
    await page.getByText('You need the admin role').waitFor();
    expect(await page.getByTestId('add-source').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
