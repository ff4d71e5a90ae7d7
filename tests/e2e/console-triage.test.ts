import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { dropConnectionsPastRecovery, failOpenIncidentReads, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { addSource } from '../../server/ingest/sources.ts';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';
import type { IncidentListResponse } from '../../src/lib/protocol/console.ts';
import { assertAppBuilt, browserAvailable, launchBrowser, newPage, screenshot, signInThroughForm, skipReason } from './browser.ts';

/** What people see of one queue row. */
const row = (page: Page, number: number) => page.locator(`[data-testid="incident-row"][data-number="${number}"]`);

describe.skipIf(!browserAvailable)(`console triage in the browser${skipReason ? ` (${skipReason})` : ''}`, () => {
  let server: TestServer;
  let browser: Browser;
  let token: string;
  const users: Record<'engineer' | 'lead' | 'viewer' | 'observer', { email: string; password: string; id: string }> = {} as never;

  beforeAll(async () => {
    assertAppBuilt();
    server = await startTestServer('memory://');
    browser = await launchBrowser();
    ({ token } = await addSource(server.context.database.db, { name: 'prometheus', format: 'alertmanager' }));
    users.engineer = await server.addUser('nadia@example.com', 'engineer', 'Nadia Novak');
    users.lead = await server.addUser('lena@example.com', 'lead', 'Lena Lindqvist');
    users.viewer = await server.addUser('victor@example.com', 'viewer', 'Victor Viewer');
    users.observer = await server.addUser('omar@example.com', 'engineer', 'Omar Okafor');
    const alerts: TestAlert[] = [
      { name: 'CoreSwitchDown', severity: 'critical', client: 'acme', instance: 'core-sw-01', fingerprint: 'e2e-1' },
      { name: 'DiskFull', severity: 'high', client: 'globex', instance: 'db-01', fingerprint: 'e2e-2' },
      { name: 'CertExpiring', severity: 'warning', client: 'initech', instance: 'web-01', fingerprint: 'e2e-3' },
      { name: 'BackupLate', severity: 'info', client: 'acme', instance: 'nas-01', fingerprint: 'e2e-4' },
    ].map((a, i) => ({ ...a, startsAt: new Date(Date.now() - (10 - i) * 60_000).toISOString(), summary: `${a.name} on ${a.instance}` }));
    expect((await postAlertmanager(server.url, token, alerts)).status).toBe(200);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.dispose();
  });

  /** Signs in through the form; resolves once the connection indicator shows `status`. */
  async function signedIn(who: keyof typeof users, path = '/', status: 'live' | 'refused' = 'live') {
    const opened = await newPage(browser);
    await opened.page.goto(`${server.url}/login?next=${encodeURIComponent(path)}`);
    await signInThroughForm(opened.page, users[who].email, users[who].password);
    await opened.page.locator(`[data-testid="connection"][data-status="${status}"]`).waitFor();
    return opened;
  }

  it('an engineer acknowledges by keyboard, a lead reassigns with a reason, and another user sees both live', async () => {
    const engineer = await signedIn('engineer');
    const observer = await signedIn('observer');
    for (const { page } of [engineer, observer]) await row(page, 1).waitFor();

    // Highest priority first: the critical one leads the queue.
    const numbers = await engineer.page.locator('[data-testid="incident-row"]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-severity')));
    expect(numbers).toEqual(['critical', 'high', 'warning', 'info']);

    // j focuses the first row, a acknowledges it: no mouse involved.
    await engineer.page.keyboard.press('j');
    await expect(row(engineer.page, 1).getAttribute('class')).resolves.toContain('cursor');
    await engineer.page.keyboard.press('a');
    await engineer.page.locator('[data-testid="action-outcome"][data-tone="success"]').waitFor();
    await row(engineer.page, 1).and(engineer.page.locator('[data-status="acknowledged"]')).waitFor();
    // The other person's queue shows it within a second, without a reload.
    await row(observer.page, 1).and(observer.page.locator('[data-status="acknowledged"]')).waitFor({ timeout: 1000 });
    await expect(row(observer.page, 1).getByTestId('incident-assignee').innerText()).resolves.toContain('Nadia Novak');

    // Selection and focus survive live changes: select #2, then a new critical arrives above it.
    await engineer.page.keyboard.press('j');
    await engineer.page.keyboard.press('x');
    await expect(row(engineer.page, 2).getAttribute('data-selected')).resolves.toBe('true');
    expect(
      (await postAlertmanager(server.url, token, [{ name: 'PowerFeedLost', severity: 'critical', client: 'globex', instance: 'pdu-02', fingerprint: 'e2e-5' }]))
        .status,
    ).toBe(200);
    await row(engineer.page, 5).waitFor();
    await expect(row(engineer.page, 5).getAttribute('data-flash')).resolves.toMatch(/^[01]$/);
    await expect(row(engineer.page, 2).getAttribute('data-selected')).resolves.toBe('true');
    await expect(row(engineer.page, 2).getAttribute('class')).resolves.toContain('cursor');
    expect(await engineer.page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('incident-list');
    await engineer.page.keyboard.press('Escape');
    await expect(row(engineer.page, 2).getAttribute('data-selected')).resolves.toBe('false');
    await screenshot(engineer.page, 'console-queue');

    // The lead reassigns #1 from Nadia to Omar, saying why.
    const lead = await signedIn('lead', '/lead');
    await lead.page.getByTestId('workload').waitFor();
    const incidentRow = lead.page.locator('[data-testid="lead-incident"]', { hasText: '#1' }).first();
    await incidentRow.getByTestId('lead-reassign').click();
    const dialog = lead.page.getByTestId('action-dialog');
    await dialog.getByTestId('assign-person').selectOption({ label: 'Omar Okafor' });
    // Taking it from someone else needs a reason: refused without one, accepted with one.
    await dialog.getByTestId('action-submit').click();
    await dialog.getByRole('alert').filter({ hasText: 'Say why' }).waitFor();
    await dialog.getByTestId('assign-reason').fill('Nadia is handing over at 18:00');
    await dialog.getByTestId('action-submit').click();
    await lead.page.locator('[data-testid="action-outcome"][data-tone="success"]').waitFor();
    await row(observer.page, 1).getByTestId('incident-assignee').filter({ hasText: 'Omar Okafor' }).waitFor({ timeout: 1000 });
    await lead.page.locator('[data-testid="assignee-group"]', { hasText: 'Omar Okafor' }).waitFor();
    await lead.page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(lead.page, 'console-lead');

    // The incident's page tells the story: who acknowledged, who reassigned from whom to whom, and why.
    await observer.page.keyboard.press('j');
    await observer.page.keyboard.press('Enter');
    await observer.page.getByTestId('incident-detail').waitFor();
    const timeline = observer.page.getByTestId('timeline');
    await timeline.getByText('Acknowledged by Nadia Novak').waitFor();
    await timeline.getByText('Reassigned from Nadia Novak → Omar Okafor by Lena Lindqvist').waitFor();
    await expect(timeline.getByTestId('timeline-reason').last().innerText()).resolves.toContain('Nadia is handing over at 18:00');
    await screenshot(observer.page, 'console-detail');

    for (const opened of [engineer, observer, lead]) {
      expect(opened.errors).toEqual([]);
      await opened.context.close();
    }
  });

  it('opened directly, the queue subscribes with the socket handshake and checks the session once; moving to the lead view subscribes again; both stay live', async () => {
    const lead = await signedIn('lead', '/settings/teams');
    const subscribes: string[] = [];
    // The session check starts as the app starts (beside the socket) and the layout takes that answer: one request.
    const sessionChecks: string[] = [];
    lead.page.on('request', (request) => {
      if (request.method() === 'GET' && new URL(request.url()).pathname === '/api/v1/session') sessionChecks.push(request.url());
    });
    lead.page.on('websocket', (socket) => {
      socket.on('framesent', ({ payload }) => {
        if (typeof payload === 'string' && payload.includes('"incidents:subscribe"')) subscribes.push(payload);
      });
    });
    // A fresh load of the queue: the handshake carries its subscription, the snapshot comes unasked.
    await lead.page.goto(`${server.url}/`);
    await row(lead.page, 3).waitFor();
    expect(subscribes).toEqual([]);
    expect(sessionChecks).toHaveLength(1);
    await expect(lead.page.getByRole('link', { name: 'Shift lead' }).isVisible()).resolves.toBe(true);
    // In-app navigation to the lead view: that page asks for its own subscription and gets it.
    await lead.page.getByRole('link', { name: 'Shift lead' }).click();
    await lead.page.getByTestId('workload').waitFor();
    await lead.page.locator('[data-testid="lead-incident"]', { hasText: '#3' }).first().waitFor();
    expect(subscribes).toHaveLength(1);
    // Both kinds of subscription carry on with live changes.
    expect((await postAlertmanager(server.url, token, [{ name: 'FanFailure', severity: 'high', client: 'acme', instance: 'rack-7', fingerprint: 'e2e-fan' }])).status).toBe(200);
    await lead.page.locator('[data-testid="lead-incident"]', { hasText: 'FanFailure on rack-7' }).first().waitFor({ timeout: 2000 });
    await lead.page.getByRole('link', { name: 'Console' }).click();
    await lead.page.locator('[data-testid="incident-row"]', { hasText: 'FanFailure on rack-7' }).waitFor();
    expect(lead.errors).toEqual([]);
    await lead.context.close();
  });

  it('opened directly on a filtered queue, the first screen comes from the head before the snapshot, then the whole queue takes over', async () => {
    const viewer = await signedIn('viewer', '/settings/teams');
    const filter = 'severity=critical,high';
    const list = async (query: string) => (await (await viewer.context.request.get(`${server.url}/api/v1/incidents?${query}`)).json()) as IncidentListResponse;
    const expected = await list(filter);
    const open = (await list('state=triggered,acknowledged,snoozed')).total;
    expect(expected.total).toBeGreaterThan(1);
    // Hold the snapshot back on its way to the page: whatever the queue shows meanwhile came with the head.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await viewer.page.routeWebSocket(/\/socket\.io\//, (socket) => {
      const upstream = socket.connectToServer();
      socket.onMessage((message) => upstream.send(message));
      upstream.onMessage((message) => {
        if (typeof message === 'string' && message.startsWith('42["incidents:snapshot"')) void released.then(() => socket.send(message));
        else socket.send(message);
      });
    });
    await viewer.page.goto(`${server.url}/?${filter}`);
    const shownNumbers = () => viewer.page.getByTestId('incident-row').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-number'))));
    await row(viewer.page, expected.incidents[0].number).waitFor();
    expect(await shownNumbers()).toEqual(expected.incidents.map((i) => i.number));
    await expect(viewer.page.getByTestId('open-count').innerText()).resolves.toBe(`${expected.total} of ${open} open`);
    await expect(viewer.page.getByTestId('count-severity-critical').innerText()).resolves.toBe(String(expected.counts.severity.critical));
    await expect(viewer.page.getByTestId('count-severity-warning').innerText()).resolves.toBe(String(expected.counts.severity.warning));
    expect(await viewer.page.evaluate(() => performance.getEntriesByName('wf:snapshot-applied').length)).toBe(0);

    release();
    await viewer.page.waitForFunction(() => performance.getEntriesByName('wf:snapshot-applied').length > 0);
    expect(await shownNumbers()).toEqual(expected.incidents.map((i) => i.number));
    await expect(viewer.page.getByTestId('open-count').innerText()).resolves.toBe(`${expected.total} of ${open} open`);
    expect(viewer.errors).toEqual([]);
    await viewer.context.close();
  });

  it('when the server cannot read the incidents, the queue says so, and shows them once it can', async () => {
    const restore = failOpenIncidentReads(server);
    try {
      // Connected, but nothing comes: the indicator does not say "Live".
      const viewer = await signedIn('viewer', '/', 'refused');
      const refused = viewer.page.getByTestId('incident-list-refused');
      await refused.waitFor();
      await expect(refused.innerText()).resolves.toContain('Could not read the incidents');
      expect(await viewer.page.getByTestId('incident-row').count()).toBe(0);
      // Opened directly: the subscription in the socket's handshake is refused the same way.
      await viewer.page.reload();
      await refused.waitFor();
      await expect(refused.innerText()).resolves.toContain('Trying again');

      restore(); // the database is back
      await row(viewer.page, 3).waitFor({ timeout: 10_000 });
      expect(await refused.count()).toBe(0);
      await viewer.page.locator('[data-testid="connection"][data-status="live"]').waitFor();
      await viewer.context.close();
    } finally {
      restore();
    }
  });

  it('when the server cannot read the incidents, the lead view and an incident page say so, and fill in once it can', async () => {
    const lead = await signedIn('lead', '/lead');
    const id = await lead.page.getByTestId('lead-incident').first().getAttribute('data-incident');
    // For the feed and the lead's overview alike.
    const restore = failOpenIncidentReads(server);
    try {
      // The incident itself comes over REST; its page says it is not following live changes.
      await lead.page.goto(`${server.url}/incident/${id}`);
      await lead.page.getByTestId('incident-detail').waitFor();
      const detailRefused = lead.page.getByTestId('incident-refused');
      await detailRefused.waitFor();
      await expect(detailRefused.innerText()).resolves.toContain('Could not read the incidents');
      await screenshot(lead.page, 'console-detail-refused');

      await lead.page.goto(`${server.url}/lead`);
      const refused = lead.page.getByTestId('lead-refused');
      await refused.waitFor();
      await expect(refused.innerText()).resolves.toContain('Could not read the incidents');
      await expect(refused.innerText()).resolves.toContain('Trying again');
      expect(await lead.page.getByTestId('workload').count()).toBe(0);
      await screenshot(lead.page, 'console-lead-refused');

      restore(); // the database is back
      await lead.page.getByTestId('workload').waitFor({ timeout: 10_000 });
      await lead.page.locator('[data-testid="lead-incident"]', { hasText: '#3' }).first().waitFor();
      expect(await refused.count()).toBe(0);
      await lead.context.close();
    } finally {
      restore();
    }
  });

  it('refused again after showing incidents (a reconnect past the recovery window): the queue, the lead view and an incident page keep them, say they are not updating, never "Live", and recover by themselves', async () => {
    const viewer = await signedIn('viewer');
    await row(viewer.page, 3).waitFor();
    const lead = await signedIn('lead', '/lead');
    await lead.page.getByTestId('workload').waitFor();
    const id = await lead.page.getByTestId('lead-incident').first().getAttribute('data-incident');
    const incidentPage = await lead.context.newPage();
    await incidentPage.goto(`${server.url}/incident/${id}`);
    await incidentPage.getByTestId('incident-detail').waitFor();
    await incidentPage.locator('[data-testid="connection"][data-status="live"]').waitFor();
    const shownNumbers = () => viewer.page.getByTestId('incident-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-number')));
    const before = await shownNumbers();
    const leadRows = await lead.page.getByTestId('lead-incident').count();

    const restore = failOpenIncidentReads(server);
    try {
      await dropConnectionsPastRecovery(server);
      const screens = [
        { page: viewer.page, notice: 'incident-list-refused', name: 'console-queue-not-updating' },
        { page: lead.page, notice: 'lead-refused', name: 'console-lead-not-updating' },
        { page: incidentPage, notice: 'incident-refused', name: 'console-detail-not-updating' },
      ];
      for (const { page, notice, name } of screens) {
        const refused = page.locator(`[data-testid="${notice}"][data-kept="true"]`);
        await refused.waitFor();
        await expect(refused.innerText()).resolves.toMatch(/Not updating: could not read the incidents\.\s+Trying again by itself…/);
        // The indicator says so too, with its own icon: not "Live" while nothing updates.
        const indicator = page.locator('[data-testid="connection"][data-status="refused"]');
        await indicator.waitFor();
        await expect(indicator.innerText()).resolves.toContain('Not updating');
        await expect(indicator.locator('svg path').count()).resolves.toBeGreaterThan(0);
        await screenshot(page, name);
      }
      // What was on screen stays there, visibly not current.
      expect(await shownNumbers()).toEqual(before);
      await expect(viewer.page.getByTestId('incident-list').getAttribute('data-updating')).resolves.toBe('false');
      expect(await lead.page.getByTestId('lead-incident').count()).toBe(leadRows);
      await incidentPage.getByTestId('incident-detail').waitFor();

      restore(); // the database is back: each asks again by itself
      for (const { page, notice } of screens) {
        await page.getByTestId(notice).waitFor({ state: 'detached', timeout: 10_000 });
        await page.locator('[data-testid="connection"][data-status="live"]').waitFor();
      }
      expect(await shownNumbers()).toEqual(before);
      await expect(viewer.page.getByTestId('incident-list').getAttribute('data-updating')).resolves.toBe('true');
      expect(viewer.errors).toEqual([]);
      await viewer.context.close();
      await lead.context.close();
    } finally {
      restore();
    }
  });

  it('a viewer sees the queue and the incident but no action, and a forged command is refused', async () => {
    const viewer = await signedIn('viewer');
    await row(viewer.page, 3).waitFor();
    expect(await viewer.page.getByTestId('queue-actions').count()).toBe(0);
    expect(await viewer.page.getByTestId('action-bar').count()).toBe(0);
    expect(await viewer.page.locator('[data-testid="incident-row"] input[type="checkbox"]').count()).toBe(0);
    // Action keys do nothing for a viewer.
    await viewer.page.keyboard.press('j');
    await viewer.page.keyboard.press('j');
    await viewer.page.keyboard.press('a');
    await viewer.page.keyboard.press('e');
    expect(await viewer.page.getByTestId('action-dialog').isVisible()).toBe(false);
    await viewer.page.keyboard.press('Enter');
    await viewer.page.getByTestId('incident-detail').waitFor();
    expect(await viewer.page.getByTestId('action-bar').count()).toBe(0);

    // Forged from the viewer's own session, over the socket and over REST: refused.
    const id = await viewer.page.getByTestId('incident-detail').getAttribute('data-incident');
    const cookie = await server.signIn(users.viewer.email, users.viewer.password);
    const socket = io(server.url, { extraHeaders: { cookie }, transports: ['websocket'] });
    try {
      const reply = await socket.timeout(5000).emitWithAck('incident:acknowledge', { id: id! });
      expect(reply).toMatchObject({ ok: false, code: 'forbidden' });
    } finally {
      socket.close();
    }
    const status = await viewer.page.evaluate(async (incidentId) => {
      const response = await fetch(`/api/v1/incidents/${incidentId}/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      return response.status;
    }, id);
    expect(status).toBe(403);
    await viewer.page.getByTestId('incident-state').filter({ hasNotText: 'Resolved' }).waitFor();
    expect(viewer.errors.filter((e) => !e.includes('403'))).toEqual([]);
    await viewer.context.close();
  });
});
