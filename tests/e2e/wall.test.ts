import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { dropConnectionsPastRecovery, failOpenIncidentReads, startTestServer, type TestServer } from '../helpers/test-server.ts';
import { seedDemoEstate } from '../../server/demo/demo-estate.ts';
import { postAlertmanager } from '../helpers/alertmanager.ts';
import { assertAppBuilt, browserAvailable, collectPageErrors, launchBrowser, newPage, nextDeploy, screenshot, screenshotDir, signInThroughForm, skipReason, workerWaiting } from './browser.ts';
import { DEFAULT_WALL_PAGE, type WallWithTokenDto } from '../../src/lib/protocol/walls.ts';
import { writeHistory } from './wall-fixtures.ts';
import { until } from '../helpers/until.ts';
import { buildGeometry, fitTransform } from '../../src/lib/wall/map-model.ts';
import type { TopologyDto } from '../../src/lib/protocol/topology.ts';

const SIZES = [
  { name: '1080p', width: 1920, height: 1080 },
  { name: '4k', width: 3840, height: 2160 },
] as const;

describe.skipIf(!browserAvailable)(`the wall in kiosk mode${skipReason ? ` (${skipReason})` : ''}`, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-wall-e2e-'));
  let server: TestServer;
  let browser: Browser;
  let alertmanagerToken: string;
  let lead: { email: string; password: string };
  let leadCookie: string;
  let wall: WallWithTokenDto;
  const screens: { size: (typeof SIZES)[number]; context: BrowserContext; page: Page; errors: string[] }[] = [];

  const api = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${server.url}/api/v1${url}`, {
      method,
      headers: { cookie: leadCookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.status, `${method} ${url}`).toBeLessThan(300);
    return response.status === 204 ? null : response.json();
  };

  /** A demo node going critical, as Alertmanager would post it. */
  const coreSwitch = (status: 'firing' | 'resolved') =>
    postAlertmanager(server.url, alertmanagerToken, [
      { name: 'CoreSwitchDown', client: 'acme', instance: 'new-core-sw-01', severity: 'critical', status, summary: 'Core switch new-core-sw-01 not answering', fingerprint: 'e2e-wall-core' },
    ]);

  beforeAll(async () => {
    assertAppBuilt();
    // PGlite on disk, as `npm start` runs it: the restart below reopens the same database.
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir });
    const tokens = await seedDemoEstate(server.context.database.db);
    alertmanagerToken = tokens.alertmanager;
    const user = await server.addUser('lena@example.com', 'lead', 'Lena Lead');
    lead = user;
    leadCookie = await server.signIn(user.email, user.password);
    await api('POST', '/topology/layout');
    await writeHistory(server.context.database, { days: 90, share: 0.35 });
    wall = (await api('POST', '/walls', { name: 'NOC main wall', pages: [DEFAULT_WALL_PAGE] })) as WallWithTokenDto;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    for (const s of screens) await s.context.close();
    await browser?.close();
    await server?.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens with its device link at 1920×1080 and 3840×2160: token gone from the address, no scrolling, live', async () => {
    for (const size of SIZES) {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors = collectPageErrors(page);
      await page.goto(`${server.url}${wall.openPath}`);
      // The server traded the token for a cookie and sent the screen to the bare address.
      expect(new URL(page.url()).pathname).toBe(`/wall/${wall.wall.id}`);
      expect(page.url()).not.toContain('token');
      expect(await page.evaluate(() => document.cookie)).toBe(''); // HttpOnly: the page never sees it
      await page.locator('[data-testid="wall"][data-status="live"]').waitFor();
      await page.locator('.topology[data-nodes="179"]').waitFor();
      await page.locator('[data-testid="wall-panel-heatmap"] .heatmap').waitFor();
      // It says whose midnights cut its days: the server's zone (WATCHFLOOR_TIMEZONE, UTC unless set).
      await expect(page.getByTestId('heatmap-scope').textContent()).resolves.toMatch(/ · UTC$/);
      await page.locator('[data-testid="queue-empty"]').waitFor();
      // Fits the screen: nothing scrolls.
      const overflow = await page.evaluate(() => ({ x: document.documentElement.scrollWidth - innerWidth, y: document.documentElement.scrollHeight - innerHeight }));
      expect(overflow).toEqual({ x: 0, y: 0 });
      // Readable from 5 m: body text scales with the screen (≥ 20 px at 1080p, twice that at 4K).
      const fontPx = await page.locator('[data-testid="wall"]').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      expect(fontPx).toBeGreaterThanOrEqual(size.height >= 2160 ? 40 : 20);
      screens.push({ size, context, page, errors });
    }
  });

  it('shows a posted critical on the map and in the queue within 2 s', async () => {
    const posted = Date.now();
    expect((await coreSwitch('firing')).status).toBe(200);
    for (const { page } of screens) {
      await page.locator('[data-testid="wall-incident"][data-severity="critical"]', { hasText: 'Core switch new-core-sw-01 not answering' }).waitFor({ timeout: Math.max(100, 2000 - (Date.now() - posted)) });
      await page.locator('.topology[data-critical~="acme/new-core-sw-01"]').waitFor({ timeout: Math.max(100, 2000 - (Date.now() - posted)) });
    }
    for (const { page, size } of screens) {
      await expect(page.locator('[data-testid="queue-panel"] .counter[data-severity="critical"]').getAttribute('data-count')).resolves.toBe('1');
      await expect(page.locator('[data-testid="unacknowledged"]').innerText()).resolves.toMatch(/1 unacknowledged/);
      await page.waitForTimeout(600); // let the pulse show in the picture
      await screenshot(page, `wall-${size.name}`);
      fs.mkdirSync(screenshotDir, { recursive: true });
      // Pulses stopped: an element screenshot waits for a still box, which a busy machine may not give it.
      await page.locator('[data-testid="wall-panel-map"]').screenshot({ path: path.join(screenshotDir, `wall-${size.name}-map.png`), animations: 'disabled' });
      await page.locator('[data-testid="wall-panel-heatmap"]').screenshot({ path: path.join(screenshotDir, `wall-${size.name}-heatmap.png`), animations: 'disabled' });
    }
    for (const { errors } of screens) expect(errors).toEqual([]);
  });

  it('says STALE within 15 s of the server stopping, and recovers by itself when it starts again', async () => {
    const port = server.port;
    await server.stop();
    const stopped = Date.now();
    for (const { page } of screens) {
      await page.locator('[data-testid="stale-banner"]').waitFor({ timeout: Math.max(1000, 15_000 - (Date.now() - stopped)) });
      await expect(page.locator('[data-testid="stale-banner"]').innerText()).resolves.toMatch(/STALE[\s\S]*no update since \d\d:\d\d:\d\d/);
    }
    expect(Date.now() - stopped).toBeLessThan(15_000);
    await screenshot(screens[0].page, 'wall-1080p-stale');

    // Same port, same database: nobody touches the screens.
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port) });
    leadCookie = await server.signIn(lead.email, lead.password);
    for (const { page } of screens) {
      await page.locator('[data-testid="stale-banner"]').waitFor({ state: 'detached', timeout: 30_000 });
      await page.locator('[data-testid="wall"][data-status="live"]').waitFor({ timeout: 30_000 });
    }
    // Each screen resumed from the change id it held: the restarted server sent neither a snapshot.
    const answers = async () => Object.fromEntries((await server.context.metrics.feedAnswers.get()).values.map((v) => [v.labels.answer, v.value]));
    await until(async () => (await answers()).resume === screens.length, 'both screens to resume');
    await expect(answers()).resolves.toEqual({ resume: screens.length });
    // Current: what changes now arrives, on both screens.
    expect((await coreSwitch('resolved')).status).toBe(200);
    for (const { page } of screens) {
      await page.locator('[data-testid="queue-empty"]').waitFor({ timeout: 5000 });
      await page.locator('.topology[data-critical=""]').waitFor({ timeout: 5000 });
    }
    await screenshot(screens[0].page, 'wall-1080p-recovered');
  });

  it('takes a deploy by itself: the restarted server serves another build, and the wall reloads onto it, live again', async () => {
    const deployed = nextDeploy();
    const { page } = screens[0];
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    const port = server.port;
    await server.stop();
    const reloaded = page.waitForEvent('load', { timeout: 30_000 });
    server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port), WATCHFLOOR_APP_DIR: deployed });
    try {
      // Nobody touches it: it learns of the new build from its socket, installs it and reloads onto it.
      await reloaded;
      await page.locator('[data-testid="wall"][data-status="live"]').waitFor({ timeout: 30_000 });
      // Onto the new worker: it took over (a plain reload would have left it waiting).
      await expect(workerWaiting(page)).resolves.toBe(false);
    } finally {
      await server.stop();
      server = await startTestServer(null, { WATCHFLOOR_DATA: dataDir, PORT: String(port) });
      leadCookie = await server.signIn(lead.email, lead.password);
      fs.rmSync(deployed, { recursive: true, force: true });
    }
    await page.locator('[data-testid="wall"][data-status="live"]').waitFor({ timeout: 30_000 });
  });

  it('drops to "this display was disconnected" when its token is revoked', async () => {
    await api('DELETE', `/walls/${wall.wall.id}/token`);
    for (const { page, size } of screens) {
      const gone = page.locator('[data-testid="wall-disconnected"]');
      await gone.waitFor({ timeout: 5000 });
      await expect(gone.innerText()).resolves.toMatch(/This display was disconnected/);
      await screenshot(page, `wall-${size.name}-disconnected`);
    }
  });

  /** The /map page in a context of its own, signed in as the lead through the form. */
  async function openMapAsLead(): Promise<{ context: BrowserContext; page: Page }> {
    const opened = await newPage(browser, { width: 1600, height: 1000 });
    await opened.page.goto(`${server.url}/login?next=/map`);
    await signInThroughForm(opened.page, lead.email, lead.password);
    await opened.page.waitForURL((url) => url.pathname === '/map');
    return opened;
  }

  it('the /map page: pan, zoom, hover details', async () => {
    const { context, page } = await openMapAsLead();
    const canvas = page.locator('[data-testid="map"] canvas:not(.overlay)');
    await page.locator('[data-testid="map"] .topology[data-nodes="179"]').waitFor();
    const box = (await canvas.boundingBox())!;
    // Where the map draws new-core-sw-01, from the same pure model the page uses.
    const topology = (await api('GET', '/topology')) as TopologyDto;
    const geometry = buildGeometry(topology);
    const t = fitTransform(geometry.bounds, Math.round(box.width), Math.round(box.height), 14 * 1.8);
    const node = geometry.nodes.find((n) => n.name === 'new-core-sw-01')!;
    const at = { x: box.x + t.k * node.x + t.x, y: box.y + t.k * node.y + t.y };
    await page.mouse.move(at.x, at.y);
    const tip = page.locator('[data-testid="map-tooltip"]');
    await tip.waitFor();
    await expect(tip.innerText()).resolves.toMatch(/new-core-sw-01[\s\S]*Acme Logistics · Newark Hub · switch[\s\S]*OK/);
    // Zooming in around the pointer keeps the node under it: names of ok nodes appear with room.
    for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -250);
    await page.mouse.move(at.x + 1, at.y);
    await expect(tip.innerText()).resolves.toMatch(/new-core-sw-01/);
    await screenshot(page, 'map-hover');
    // Panning moves the map away from the pointer. A press on a node would drag the node instead (a lead may
    // edit the layout), so the press goes where no node is: a corner where the pointer shows no details.
    const corners = [
      { x: 20, y: 20 },
      { x: box.width - 20, y: 20 },
      { x: 20, y: box.height - 20 },
      { x: box.width - 20, y: box.height - 20 },
    ];
    let from: { x: number; y: number } | undefined;
    for (const corner of corners) {
      await page.mouse.move(box.x + corner.x, box.y + corner.y);
      if (await tip.isHidden().catch(() => false)) {
        from = corner;
        break;
      }
    }
    expect(from, 'a corner of the map with no node under it').toBeDefined();
    await page.mouse.down();
    const to = { x: from!.x + (from!.x < box.width / 2 ? 280 : -280), y: from!.y + (from!.y < box.height / 2 ? 180 : -180) };
    await page.mouse.move(box.x + to.x, box.y + to.y, { steps: 5 });
    await page.mouse.up();
    await page.mouse.move(at.x, at.y);
    // The map redraws on its next frame: under load the tooltip can still show the old hover for a moment.
    await expect.poll(async () => ((await tip.isVisible()) ? await tip.innerText() : ''), { timeout: 5000 }).not.toContain('new-core-sw-01');
    await context.close();
  });

  it('the /map page and a wall screen say when the server cannot read the incidents (every node would look fine), and recover', async () => {
    const restore = failOpenIncidentReads(server);
    let context: BrowserContext | undefined;
    try {
      const opened = await openMapAsLead();
      context = opened.context;
      const page = opened.page;
      const refused = page.getByTestId('map-refused');
      await refused.waitFor();
      await expect(refused.innerText()).resolves.toContain('Could not read the incidents');
      await expect(refused.innerText()).resolves.toContain('Trying again');
      await page.locator('[data-testid="map"] .topology[data-nodes="179"]').waitFor();
      await screenshot(page, 'map-refused');
      // A wall screen says so too, instead of a zero queue over an all-green map.
      // (A wall of its own: the main wall's token was revoked above.)
      const refusedWall = (await api('POST', '/walls', { name: 'Refused wall', pages: [DEFAULT_WALL_PAGE] })) as WallWithTokenDto;
      const wallScreen = await opened.context.newPage();
      await wallScreen.goto(`${server.url}${refusedWall.openPath}`);
      const wallRefused = wallScreen.getByTestId('wall-refused');
      await wallRefused.waitFor({ timeout: 15_000 });
      await expect(wallRefused.innerText()).resolves.toContain('Could not read the incidents');

      restore(); // the database is back
      await refused.waitFor({ state: 'detached', timeout: 10_000 });
      await wallRefused.waitFor({ state: 'detached', timeout: 30_000 }); // the wall asks again with backoff
    } finally {
      restore();
      await context?.close();
    }
  });

  it('refused again after showing incidents (a reconnect past the recovery window): a wall screen and the /map page keep what they show, say it is not updating, never "Live", and recover by themselves', async () => {
    const { context, page: map } = await openMapAsLead();
    let restore = () => {};
    // An alert of its own, starting now: the core switch's above resolved at a time after its own start.
    const startsAt = new Date().toISOString();
    const flapping = (status: 'firing' | 'resolved') =>
      postAlertmanager(server.url, alertmanagerToken, [
        { name: 'CoreSwitchFlapping', client: 'acme', instance: 'new-core-sw-01', severity: 'critical', status, summary: 'Core switch new-core-sw-01 flapping', fingerprint: 'e2e-wall-kept', startsAt, ...(status === 'resolved' ? { endsAt: new Date().toISOString() } : {}) },
      ]);
    try {
      const ownWall = (await api('POST', '/walls', { name: 'Not updating wall', pages: [DEFAULT_WALL_PAGE] })) as WallWithTokenDto;
      const wallScreen = await context.newPage();
      await wallScreen.setViewportSize({ width: 1920, height: 1080 });
      await wallScreen.goto(`${server.url}${ownWall.openPath}`);
      await wallScreen.locator('[data-testid="wall"][data-status="live"]').waitFor();
      expect((await flapping('firing')).status).toBe(200);
      const critical = wallScreen.locator('[data-testid="wall-incident"][data-severity="critical"]', { hasText: 'Core switch new-core-sw-01 flapping' });
      await critical.waitFor();
      const drawnCritical = map.locator('[data-testid="map"] .topology[data-critical~="acme/new-core-sw-01"]');
      await drawnCritical.waitFor();
      await map.locator('[data-testid="connection"][data-status="live"]').waitFor();
      /** Where the wall's panels sit (layout boxes: the pixel shift's transform aside). */
      const panelBoxes = () =>
        wallScreen.locator('[data-testid^="wall-panel-"]').evaluateAll((panels) => panels.map((p) => [(p as HTMLElement).offsetLeft, (p as HTMLElement).offsetTop, (p as HTMLElement).offsetWidth, (p as HTMLElement).offsetHeight]));
      const boxes = await panelBoxes();

      restore = failOpenIncidentReads(server);
      await dropConnectionsPastRecovery(server);
      const wallNotice = wallScreen.locator('[data-testid="wall-refused"][data-kept="true"]');
      await wallNotice.waitFor({ timeout: 15_000 });
      await expect(wallNotice.innerText()).resolves.toMatch(/Not updating: could not read the incidents\.\s+Trying again by itself…/);
      await wallScreen.locator('[data-testid="wall"][data-status="refused"]').waitFor();
      const strip = wallScreen.locator('[data-testid="wall-connection"][data-status="refused"]');
      await expect(strip.innerText()).resolves.toContain('Not updating');
      await expect(strip.innerText()).resolves.not.toMatch(/Live|updated/);
      // What the wall showed stays, where it was.
      await critical.waitFor();
      expect(await panelBoxes()).toEqual(boxes);
      await screenshot(wallScreen, 'wall-1080p-not-updating');

      const mapNotice = map.locator('[data-testid="map-refused"][data-kept="true"]');
      await mapNotice.waitFor();
      await expect(mapNotice.innerText()).resolves.toMatch(/Not updating: could not read the incidents\.\s+Trying again by itself…/);
      await map.locator('[data-testid="connection"][data-status="refused"]').waitFor();
      await drawnCritical.waitFor();
      await screenshot(map, 'map-not-updating');

      restore(); // the database is back: both ask again by themselves (the wall with backoff)
      await mapNotice.waitFor({ state: 'detached', timeout: 10_000 });
      await map.locator('[data-testid="connection"][data-status="live"]').waitFor();
      await wallNotice.waitFor({ state: 'detached', timeout: 30_000 });
      await wallScreen.locator('[data-testid="wall"][data-status="live"]').waitFor();
      // Current again: a change arrives.
      expect((await flapping('resolved')).status).toBe(200);
      await critical.waitFor({ state: 'detached', timeout: 5000 });
      await map.locator('[data-testid="map"] .topology[data-critical=""]').waitFor({ timeout: 5000 });
    } finally {
      restore();
      await context.close();
    }
  });
});
