import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { assertAppBuilt, browserAvailable, launchBrowser, newPage, screenshot, signInThroughForm, skipReason } from './browser.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import { sql } from 'drizzle-orm';
import { grafanaWebhook, postGrafana } from '../helpers/stored-secrets.ts';

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
    const opened = await newPage(browser);
    await opened.page.goto(`${server.url}/login?next=${encodeURIComponent(next)}`);
    await signInThroughForm(opened.page, email, password);
    await opened.page.waitForURL((url) => url.pathname === next);
    return opened;
  }

  /** Creates a source over the API as `admin`, as if made earlier; its token. */
  async function addSourceAs(admin: { email: string; password: string }, source: Record<string, unknown>): Promise<string> {
    const cookie = await server.signIn(admin.email, admin.password);
    const created = await fetch(`${server.url}/api/v1/sources`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(source) });
    expect(created.status).toBe(201);
    return ((await created.json()) as { token: string }).token;
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

    // The copy buttons put exactly that on the clipboard, and say so.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await reveal.getByRole('button', { name: 'Copy', exact: true }).click();
    await reveal.getByText('Copied to the clipboard.').waitFor();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(token);
    await reveal.getByRole('button', { name: 'Copy snippet' }).click();
    await reveal.getByText('Snippet copied.').waitFor();
    await expect(page.evaluate(() => navigator.clipboard.readText())).resolves.toBe(snippet);

    const row = page.locator('[data-testid="source-row"][data-name="Prometheus EU-West"]');
    const rowText = await row.innerText();
    expect(rowText).toContain(`${token.slice(0, 8)}…`);
    expect(rowText).toContain('acme');
    expect(rowText).toContain('600/min');
    await screenshot(page, 'sources-token-shown');

    // Alertmanager posting with the token copied from the page is accepted.
    const accepted = await postAlertmanager(server.url, token, [{ name: 'HighCPU', client: 'acme', instance: 'core-sw-01', severity: 'critical' }]);
    expect(accepted.status).toBe(200);
    await expect(accepted.json()).resolves.toMatchObject({ status: 'committed', signals: 1 });

    // The same name again is refused, with the server's message shown inline.
    await form.getByLabel('Name').fill('Prometheus EU-West');
    await form.getByRole('button', { name: 'Add source' }).click();
    await form.getByText('already exists').waitFor();
    await screenshot(page, 'sources-duplicate-name');

    // With the network gone, the form says the server could not be reached (not the browser's "Failed to fetch").
    const logged = errors.length;
    await page.route('**/api/v1/sources', (route) => route.abort('internetdisconnected'));
    await form.getByLabel('Name').fill('Prometheus US-East');
    await form.getByRole('button', { name: 'Add source' }).click();
    await form.getByText('the server could not be reached').waitFor();
    expect(await form.innerText()).not.toContain('Failed to fetch');
    await page.unroute('**/api/v1/sources');
    // The browser logs the failed request itself; nothing else went wrong.
    expect(errors.splice(logged).filter((e) => !e.startsWith('Failed to load resource: net::ERR_'))).toEqual([]);

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

  it('shows a Grafana source whose HMAC secret was lost, and lets an admin give it a new one that its webhooks are then checked with', async () => {
    const admin = await server.addUser('gina@example.com', 'admin', 'Gina Admin');
    const token = await addSourceAs(admin, { name: 'Grafana Lab', format: 'grafana', hmacSecret: 'lab-secret-before' });
    // As `watchfloor secrets reset` leaves it after the server's key was lost.
    await server.context.database.rows(sql`update sources set hmac_secret = null, hmac_secret_lost_at = now() where name = 'Grafana Lab'`);

    const { context, page, errors } = await signedInPage(admin.email, admin.password, '/settings/sources');
    const row = page.locator('[data-testid="source-row"][data-name="Grafana Lab"]');
    await row.waitFor();
    await expect(row.getAttribute('data-hmac-secret')).resolves.toBe('lost');
    await expect(row.innerText()).resolves.toContain('Secret lost');
    await screenshot(page, 'sources-secret-lost');

    await row.getByRole('button', { name: 'New secret' }).click();
    const form = page.getByTestId('hmac-secret-form');
    await form.getByLabel('New HMAC secret for Grafana Lab').fill('short');
    await form.getByRole('button', { name: 'Save secret' }).click();
    await form.getByText('Use at least 8 characters.').waitFor();
    await form.getByLabel('New HMAC secret for Grafana Lab').fill('lab-secret-after');
    await form.getByRole('button', { name: 'Save secret' }).click();
    await page.locator('[data-testid="source-row"][data-name="Grafana Lab"][data-hmac-secret="set"]').waitFor();
    expect(await form.count()).toBe(0);
    await screenshot(page, 'sources-secret-set');

    const signed = grafanaWebhook('lab-secret-after');
    expect((await postGrafana(server, token, signed.body, signed.signature)).status).toBe(200);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('lets an admin rotate a token after confirming, shown once with the setup snippet, and disable and enable a source', async () => {
    const admin = await server.addUser('rita@example.com', 'admin', 'Rita Admin');
    const old = await addSourceAs(admin, { name: 'Prometheus Leaked', format: 'alertmanager' });
    const fire = (token: string, name: string) => postAlertmanager(server.url, token, [{ name, client: 'acme', instance: 'edge-01' }]);
    expect((await fire(old, 'BeforeRotation')).status).toBe(200);

    const { context, page, errors } = await signedInPage(admin.email, admin.password, '/settings/sources');
    const row = page.locator('[data-testid="source-row"][data-name="Prometheus Leaked"]');
    await row.waitFor();

    // Senders break until they have the new token: a confirm step first, which Cancel (from the keyboard) backs out of.
    await row.getByRole('button', { name: 'Rotate token' }).focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('group', { name: 'Confirm new token for Prometheus Leaked' });
    await expect(confirm.innerText()).resolves.toContain('Senders using the current token are refused until they have the new one. Make a new token for Prometheus Leaked?');
    await page.keyboard.press('Enter'); // the focus is on Cancel
    expect(await confirm.count()).toBe(0);
    await expect(row.getByRole('button', { name: 'Rotate token' }).evaluate((button) => button === document.activeElement)).resolves.toBe(true);
    await expect(row.getByTestId('token-prefix').innerText()).resolves.toBe(`${old.slice(0, 8)}…`);

    await page.keyboard.press('Enter');
    await screenshot(page, 'sources-rotate-confirm');
    await confirm.getByRole('button', { name: 'Make new token' }).click();
    const reveal = page.getByTestId('source-token');
    await reveal.waitFor();
    await expect(reveal.getByRole('heading', { level: 2 }).innerText()).resolves.toBe('New token for Prometheus Leaked');
    await expect(reveal.innerText()).resolves.toContain('The old token no longer works.');
    const value = page.getByTestId('source-token-value');
    const token = await value.inputValue();
    expect(token).toMatch(/^wfs_\S{20,}$/);
    expect(token).not.toBe(old);
    await expect(value.evaluate((input) => input === document.activeElement)).resolves.toBe(true);
    expect(await page.getByTestId('setup-snippet-text').innerText()).toContain(`credentials: ${token}`);
    await expect(row.getByTestId('token-prefix').innerText()).resolves.toBe(`${token.slice(0, 8)}…`);
    await screenshot(page, 'sources-rotated');

    // The old token is refused at once; the new one is taken.
    expect((await fire(old, 'AfterRotationOld')).status).toBe(401);
    expect((await fire(token, 'AfterRotationNew')).status).toBe(200);

    // Shown once: dismissed, it is gone from the page.
    await reveal.getByRole('button', { name: 'Done, I have saved it' }).click();
    expect(await reveal.count()).toBe(0);
    expect(await page.locator('body').innerText()).not.toContain(token);

    // Disabled from the keyboard: the row says so, and its webhooks are refused.
    await row.getByRole('button', { name: 'Disable' }).focus();
    await page.keyboard.press('Enter');
    const disabledRow = page.locator('[data-testid="source-row"][data-name="Prometheus Leaked"][data-enabled="false"]');
    await disabledRow.waitFor();
    await expect(disabledRow.getByTestId('source-disabled').innerText()).resolves.toContain('Disabled');
    const refused = await fire(token, 'WhileDisabled');
    expect(refused.status).toBe(401);
    await expect(refused.json()).resolves.toMatchObject({ error: { message: expect.stringContaining('this source is disabled') } });
    await screenshot(page, 'sources-disabled');

    await disabledRow.getByRole('button', { name: 'Enable' }).click();
    await page.locator('[data-testid="source-row"][data-name="Prometheus Leaked"][data-enabled="true"]').waitFor();
    expect(await row.getByTestId('source-disabled').count()).toBe(0);
    expect((await fire(token, 'EnabledAgain')).status).toBe(200);

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
