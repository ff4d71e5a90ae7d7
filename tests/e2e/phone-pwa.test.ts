/**
 * The phone in Chromium: installable PWA, the real service worker receiving a push (delivered with
 * the DevTools protocol, since a real push service is out of reach offline), its Acknowledge action
 * acknowledging on the server, an offline start from the last snapshot, and /m at 360×740.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type CDPSession, type Page, type Worker } from 'playwright-core';
import { sql } from 'drizzle-orm';
import { dropConnectionsPastRecovery, failOpenIncidentReads, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';
import { until } from '../helpers/until.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { pagePayload } from '../../server/push/pager.ts';
import type { IncidentDetailDto } from '../../src/lib/protocol/console.ts';
import { assertAppBuilt, browserAvailable, chromiumPath, collectPageErrors, screenshot, screenshotDir, signInThroughForm, skipReason } from './browser.ts';

/** What the test reaches for inside the service worker (its global scope is not in the DOM lib). */
interface WorkerScope extends EventTarget {
  registration: { getNotifications(filter?: { tag?: string }): Promise<Notification[]> };
}
declare const NotificationEvent: { new (type: string, init: { notification: Notification; action?: string }): Event };

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  actions: { action: string; title: string }[];
  data: { url?: string } | null;
}

describe.skipIf(!browserAvailable)(`the phone: PWA, push and offline${skipReason ? ` (${skipReason})` : ''}`, () => {
  let server: TestServer;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let errors: string[];
  let userDir: string;
  let token: string;
  let ana: { id: string; email: string; password: string };
  let serial = 0;

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer('memory://', { INGEST_RATE_LIMIT: '100000' });
    ({ token } = await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' }));
    ana = await server.addUser('ana@example.com', 'engineer', 'Ana');
    // Installability is not checked in incognito profiles (Playwright's default): use a real profile.
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-phone-'));
    context = await chromium.launchPersistentContext(userDir, {
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      headless: true,
      viewport: { width: 360, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      serviceWorkers: 'allow',
    });
    await context.grantPermissions(['notifications'], { origin: server.url });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    errors = collectPageErrors(page);
    cdp = await context.newCDPSession(page);
  });
  afterAll(async () => {
    await context?.close();
    await server?.dispose();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function fire(alert: Omit<TestAlert, 'name'> & { name?: string }): Promise<IncidentDetailDto['incident']> {
    serial += 1;
    const full: TestAlert = { name: `PhoneTest${serial}`, ...alert };
    const response = await postAlertmanager(server.url, token, [full]);
    expect(response.status).toBe(200);
    const [row] = await server.context.database.rows<{ id: string }>(sql`select incident_id as id from alerts where summary = ${full.summary!}`);
    const detail = await incidentDetail(row.id);
    return detail.incident;
  }

  async function incidentDetail(id: string): Promise<IncidentDetailDto> {
    const { incidentDetail: read } = await import('../../server/incidents/incident-queries.ts');
    return read(server.context.database, { userId: ana.id, clients: null }, id);
  }

  async function serviceWorker(): Promise<Worker> {
    const existing = context.serviceWorkers().find((w) => w.url().startsWith(server.url));
    return existing ?? context.waitForEvent('serviceworker', { predicate: (w) => w.url().startsWith(server.url) });
  }

  async function notifications(tag?: string): Promise<ShownNotification[]> {
    const worker = await serviceWorker();
    return worker.evaluate(async (wanted) => {
      const scope = self as unknown as WorkerScope;
      const shown = await scope.registration.getNotifications(wanted ? { tag: wanted } : undefined);
      return shown.map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        actions: [...((n as Notification & { actions?: { action: string; title: string }[] }).actions ?? [])].map((a) => ({ action: a.action, title: a.title })),
        data: n.data as { url?: string } | null,
      }));
    }, tag);
  }

  let registrationId: string | null = null;
  /**
   * Delivers a push into the real service worker, as the push service would, and returns the page
   * once it shows. DevTools' deliverPushMessage answers OK but now and then drops the message on a
   * loaded machine (the worker runs, no push event fires), so it is sent again after a quiet spell:
   * the same tag replaces, as a push service's redelivery would.
   */
  async function deliver(payload: { tag: string }, shown: (n: ShownNotification) => boolean = () => true): Promise<ShownNotification> {
    if (registrationId === null) {
      const registrations = new Promise<{ registrationId: string; scopeURL: string }[]>((resolve) =>
        cdp.once('ServiceWorker.workerRegistrationUpdated', (event: { registrations: { registrationId: string; scopeURL: string }[] }) => resolve(event.registrations)),
      );
      await cdp.send('ServiceWorker.enable');
      const registration = (await registrations).find((r) => r.scopeURL === `${server.url}/`);
      expect(registration).toBeDefined();
      registrationId = registration!.registrationId;
    }
    for (let attempt = 1; ; attempt++) {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId, data: JSON.stringify(payload) });
      try {
        return await until(async () => (await notifications(payload.tag)).find(shown), 'the pushed notification', 3_000);
      } catch (error) {
        if (attempt === 4) throw error;
      }
    }
  }

  /** What the browser does when the person taps the notification (its body: action ''). */
  async function tap(tag: string, action: string): Promise<void> {
    const worker = await serviceWorker();
    await worker.evaluate(
      async ({ tag, action }) => {
        const scope = self as unknown as WorkerScope;
        const [notification] = await scope.registration.getNotifications({ tag });
        scope.dispatchEvent(new NotificationEvent('notificationclick', { notification, action }));
      },
      { tag, action },
    );
  }

  it('serves a manifest that makes the app installable, and registers the service worker', async () => {
    const manifest = await fetch(`${server.url}/manifest.webmanifest`);
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('content-type')).toMatch(/application\/manifest\+json/);
    const json = (await manifest.json()) as { start_url: string; display: string; icons: { sizes: string; purpose: string }[] };
    expect(json).toMatchObject({ start_url: '/m', display: 'standalone' });
    expect(json.icons.filter((i) => i.purpose === 'maskable').map((i) => i.sizes).sort()).toEqual(['192x192', '512x512']);

    await page.goto(`${server.url}/m`);
    await signInThroughForm(page, ana.email, ana.password);
    await page.waitForURL(/\/m$/);
    await page.getByTestId('shift').waitFor();
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${server.url}/`);
    await page.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === 'activated');
    // The page ends up controlled by the worker (it claims its clients on activation).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);

    const appManifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[]; parsed?: { name?: string } };
    expect(appManifest.url).toBe(`${server.url}/manifest.webmanifest`);
    expect(appManifest.errors).toEqual([]);
    const installability = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(installability.installabilityErrors).toEqual([]);
  });

  it('shows a pushed page with Acknowledge and Open; its Acknowledge acknowledges on the server', async () => {
    const incident = await fire({ client: 'acme', instance: 'core-sw-01', severity: 'critical', summary: 'BGP session down on core-sw-01' });
    // What the pager would send this user (the same function), with a real single-use token.
    const payload = pagePayload(incident, 'triggered', await server.context.push.tokens.issue(ana.id, incident.id), new Date());
    const shown = await deliver(payload);
    expect(shown.title).toBe(`P1 CRITICAL · acme`);
    expect(shown.body).toContain('BGP session down on core-sw-01');
    expect(shown.actions).toEqual([
      { action: 'acknowledge', title: 'Acknowledge' },
      { action: 'open', title: 'Open' },
    ]);

    // The person taps Acknowledge.
    await tap(payload.tag, 'acknowledge');

    await until(async () => (await incidentDetail(incident.id)).incident.status === 'acknowledged', 'the acknowledgement on the server');
    const detail = await incidentDetail(incident.id);
    expect(detail.timeline.find((t) => t.kind === 'acknowledged')).toMatchObject({ via: 'push', actor: { name: 'Ana' } });
    // The page is replaced by the outcome, without actions.
    const [outcome] = await until(async () => {
      const list = await notifications(payload.tag);
      return list[0]?.title.includes('Acknowledged') && list;
    }, 'the outcome notification');
    expect(outcome.title).toBe(`#${incident.number} Acknowledged by you`);
    expect(outcome.actions).toEqual([]);

    // Tapping it again (the token is spent) changes nothing and says why.
    const version = (await incidentDetail(incident.id)).incident.version;
    await deliver(payload, (n) => n.actions.length === 2);
    await tap(payload.tag, 'acknowledge');
    const [refused] = await until(async () => {
      const list = await notifications(payload.tag);
      return list[0]?.title.includes('not acknowledged') && list;
    }, 'the refusal notification');
    expect(refused.body).toMatch(/already used/);
    expect((await incidentDetail(incident.id)).incident.version).toBe(version);
  });

  it('opens /m/incident/<id> with one big Acknowledge button when the notification body is tapped', async () => {
    const incident = await fire({ client: 'globex', instance: 'db-07', severity: 'high', summary: 'Replication lag on db-07' });
    const payload = pagePayload(incident, 'triggered', await server.context.push.tokens.issue(ana.id, incident.id), new Date());
    await deliver(payload);
    await tap(payload.tag, '');
    await page.waitForURL(`${server.url}/m/incident/${incident.id}`);
    expect(await notifications(payload.tag)).toEqual([]);
    const button = page.getByTestId('big-acknowledge');
    await button.waitFor();
    await expect(button.innerText()).resolves.toBe('Acknowledge');
    await screenshot(page, 'phone-incident-360x740');
    await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor();
    await button.click();
    await page.getByTestId('acknowledged-note').waitFor();
    expect((await incidentDetail(incident.id)).incident.status).toBe('acknowledged');
    await page.locator('[data-testid="timeline-entry"][data-kind="acknowledged"]').first().waitFor();
  });

  it('lays /m out for one hand at 360×740 (screenshots), with notification settings', async () => {
    await fire({ client: 'initech', instance: 'fw-02', severity: 'warning', summary: 'Firewall CPU above 90 % on fw-02' });
    await fire({ client: 'acme', instance: 'web-03', severity: 'critical', summary: 'HTTP 5xx rate 37 % on web-03 — checkout failing for every customer in the EU region' });
    await page.goto(`${server.url}/m`);
    await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor();
    await page.locator('[data-testid="section-waiting"] [data-testid="phone-incident"]').first().waitFor();
    await page.getByRole('switch', { name: 'On shift' }).click();
    await page.locator('[data-testid="shift"][data-on-shift="true"]').waitFor();
    // Nothing sticks out sideways at 360 px.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, 'phone-m-360x740');
    // What the person sees without scrolling (the full-page shot stretches the fixed tab bar into the middle).
    await page.screenshot({ path: path.join(screenshotDir, 'phone-m-360x740-viewport.png') });

    await page.getByRole('link', { name: 'Notifications' }).click();
    await page.getByTestId('notification-settings').waitFor();
    await page.getByLabel('Page me for').selectOption('critical');
    await page.getByLabel('Quiet hours (no pages)').check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Saved.').waitFor();
    const saved = await server.context.database.rows<{ min_severity: string; quiet_start: string }>(sql`select min_severity, quiet_start from push_settings where user_id = ${ana.id}::uuid`);
    expect(saved).toEqual([{ min_severity: 'critical', quiet_start: '22:00' }]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, 'phone-settings-360x740');
  });

  it('starts offline from the last snapshot, clearly stale with its age, and reconnects by itself', async () => {
    await page.goto(`${server.url}/m`);
    await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor();
    const cards = page.locator('[data-testid="phone-incident"]');
    await cards.first().waitFor();
    const liveCount = await cards.count();
    // The snapshot is written down shortly after it arrives.
    await until(
      () =>
        page.evaluate(
          (expected) =>
            new Promise<boolean>((resolve) => {
              const open = indexedDB.open('watchfloor-offline');
              open.onsuccess = () => {
                const db = open.result;
                if (!db.objectStoreNames.contains('snapshots')) return resolve(false);
                const all = db.transaction('snapshots').objectStore('snapshots').getAll();
                all.onsuccess = () => {
                  db.close();
                  resolve(all.result.some((s: { incidents: unknown[] }) => s.incidents.length === expected));
                };
              };
              open.onerror = () => resolve(false);
            }),
          liveCount,
        ),
      'the stored snapshot',
    );

    await context.setOffline(true);
    await page.reload();
    const banner = page.getByTestId('stale-banner');
    await banner.waitFor();
    await expect(banner.innerText()).resolves.toMatch(/Not live\. Showing what was known \d+ s ago/);
    expect(await cards.count()).toBe(liveCount);
    // Really offline: the worker answered the API from its cache, and says so.
    const cachedAt = await page.evaluate(() => fetch('/api/v1/session').then((r) => r.headers.get('x-watchfloor-cached-at'), () => 'no answer'));
    expect(cachedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await screenshot(page, 'phone-offline-360x740');

    await context.setOffline(false);
    await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor({ timeout: 30_000 });
    await banner.waitFor({ state: 'detached' });
    const unexpected = errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource|WebSocket|socket\.io|net::/.test(e));
    expect(unexpected).toEqual([]);
  });

  it('when the server cannot read the incidents, says so instead of looking calm, and shows them once it can', async () => {
    const restore = failOpenIncidentReads(server);
    const refused = page.getByTestId('phone-refused');
    const cards = page.locator('[data-testid="phone-incident"]');
    try {
      // With a stored snapshot (the test above wrote one): it is shown, stale, and the refusal said.
      await page.goto(`${server.url}/m`);
      await refused.waitFor();
      await expect(refused.innerText()).resolves.toContain('Could not read the incidents');
      await expect(refused.innerText()).resolves.toContain('Trying again');
      await page.getByTestId('stale-banner').waitFor();
      await cards.first().waitFor();
      await screenshot(page, 'phone-refused-360x740');

      // With nothing stored: no empty sections claiming there is nothing to do.
      await page.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const request = indexedDB.deleteDatabase('watchfloor-offline');
            request.onsuccess = () => resolve();
            request.onerror = () => reject(new Error('could not delete the stored snapshot'));
          }),
      );
      await page.reload();
      await refused.waitFor();
      expect(await page.getByTestId('stale-banner').count()).toBe(0);
      expect(await page.getByTestId('section-waiting').count()).toBe(0);
      expect(await page.getByText('Nothing assigned to you.').count()).toBe(0);

      restore(); // the database is back
      // Nothing is stored, so these cards came live, by the phone's own retry.
      await cards.first().waitFor({ timeout: 10_000 });
      await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor();
      expect(await refused.count()).toBe(0);
      const unexpected = errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource|WebSocket|socket\.io|net::/.test(e));
      expect(unexpected).toEqual([]);
    } finally {
      restore();
    }
  });

  it('refused again after showing incidents (a reconnect past the recovery window): keeps the cards, says they are not updating, never "Live", and recovers by itself', async () => {
    const incident = await fire({ severity: 'critical', client: 'acme', instance: 'phone-kept', summary: 'Kept on the phone while refused' });
    await page.goto(`${server.url}/m`);
    const cards = page.locator('[data-testid="phone-incident"]');
    await page.locator(`[data-testid="phone-incident"][data-incident="${incident.id}"]`).waitFor();
    await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor();
    const shown = await cards.count();
    const restore = failOpenIncidentReads(server);
    try {
      await dropConnectionsPastRecovery(server);
      const notice = page.locator('[data-testid="phone-refused"][data-kept="true"]');
      await notice.waitFor();
      await expect(notice.innerText()).resolves.toMatch(/Not updating: could not read the incidents\.\s+Trying again by itself…/);
      const header = page.locator('[data-testid="phone-connection"][data-status="refused"]');
      await header.waitFor();
      await expect(header.innerText()).resolves.toBe('Not updating');
      // The cards stay; the notice says why, not an "offline" banner with a made-up age.
      expect(await cards.count()).toBe(shown);
      expect(await page.getByTestId('stale-banner').count()).toBe(0);
      await screenshot(page, 'phone-not-updating-360x740');

      restore(); // the database is back
      await notice.waitFor({ state: 'detached', timeout: 10_000 });
      await page.locator('[data-testid="phone-connection"][data-status="live"]').waitFor();
      expect(await cards.count()).toBe(shown);
    } finally {
      restore();
    }
  });
});
