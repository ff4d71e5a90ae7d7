/** What the console benchmarks share: the incidents they seed and how a page tells its first render. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { CDPSession, Page } from 'playwright-core';
import { postAlertmanager, type TestAlert } from '../helpers/alertmanager.ts';
import { cli, startServer } from './bench-support.ts';

const SEVERITIES = ['critical', 'high', 'warning', 'info'];
const CLIENTS = ['acme', 'globex', 'initech', 'umbrella'];

/** One alert per incident: a distinct alertname makes its own group. */
export const queueAlert = (i: number, status: 'firing' | 'resolved' = 'firing'): TestAlert => ({
  name: `BenchAlert${i}`,
  client: CLIENTS[i % CLIENTS.length],
  instance: `node-${i % 400}`,
  severity: SEVERITIES[i % 7 === 0 ? 0 : i % 4],
  summary: `Synthetic incident ${i} on node-${i % 400}: interface errors above threshold`,
  fingerprint: `bench-${i}`,
  status,
  startsAt: new Date(Date.now() - (i % 3600) * 1000).toISOString(),
});

/** Opens `count` incidents through the real Alertmanager webhook, 500 a request. */
export async function seedQueue(url: string, token: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += 500) {
    const batch = Array.from({ length: Math.min(500, count - from) }, (_, k) => queueAlert(from + k));
    const response = await postAlertmanager(url, token, batch);
    if (response.status !== 200) throw new Error(`seeding failed: ${response.status} ${await response.text()}`);
  }
}

/** What the page logs when the queue first shows its rows. */
export const FIRST_RENDER = 'watchfloor-bench:first-render';

/**
 * Makes every page of `page` note (`window.__firstRender`, ms since navigation start) and log
 * {@link FIRST_RENDER} the first time the queue shows rows with all `expected` incidents counted.
 * Told by a console message, not page.waitForFunction: that injects Playwright's own script, whose
 * compilation took ~100 ms of the page's main thread in the middle of the load (seen in a trace).
 */
export async function markFirstRender(page: Page, expected: number): Promise<void> {
  await page.addInitScript(({ expected, FIRST_RENDER }) => {
    const w = window as unknown as { __firstRender?: number };
    new MutationObserver(() => {
      const list = document.querySelector('[data-testid="incident-list"]');
      if (w.__firstRender === undefined && list && Number(list.getAttribute('data-count')) >= expected && list.querySelector('[data-testid="incident-row"]')) {
        // The DOM is updated; the rows are on screen at the next frame.
        requestAnimationFrame(() => {
          if (w.__firstRender !== undefined) return;
          w.__firstRender = performance.now();
          console.debug(FIRST_RENDER);
        });
      }
    }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-count'] });
  }, { expected, FIRST_RENDER });
}

/** Navigates `page` to `url` and resolves with its first render (ms since navigation start). */
export async function firstRenderOf(page: Page, url: string, also: Promise<unknown>[] = []): Promise<number> {
  const rendered = page.waitForEvent('console', { predicate: (message) => message.text() === FIRST_RENDER, timeout: 60_000 });
  await page.goto(url);
  await Promise.all([rendered, ...also]);
  return Math.round(await page.evaluate(() => (window as unknown as { __firstRender: number }).__firstRender));
}

/**
 * Makes every page of `page` record, while `window.__recording` is set, the time between its animation frames
 * (`__frames`) and how many long tasks it ran (`__longTasks`): what {@link measureFrames} reads.
 */
export async function recordFrames(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __frames: number[]; __recording?: boolean; __longTasks: number };
    w.__frames = [];
    w.__longTasks = 0;
    new PerformanceObserver((entries) => {
      if (w.__recording) w.__longTasks += entries.getEntries().length;
    }).observe({ type: 'longtask', buffered: false });
    let last = 0;
    const tick = (t: number) => {
      if (w.__recording && last) w.__frames.push(t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** How the queue is scrolled while frames are measured. */
export type ScrollDriver = 'none' | 'wheel' | 'script';

/**
 * Records `page`'s frames for `seconds` (see {@link recordFrames}) while the queue is scrolled:
 * - `wheel`: as a person scrolls, mouse-wheel input that Chromium scrolls on its compositor and reports to the
 *   page, 3,420 px/s (57 px a frame), down the list and back up;
 * - `script`: the page sets the list's scrollTop 57 px further every frame (the figures before 2026-12-07),
 *   which forces a layout in each of the page's own frames;
 * - `none`: the list stays still.
 */
export async function measureFrames(page: Page, cdp: CDPSession, seconds: number, driver: ScrollDriver): Promise<{ frames: number[]; longTasks: number }> {
  await page.evaluate((scripted) => {
    const w = window as unknown as { __frames: number[]; __recording: boolean; __longTasks: number };
    w.__frames = [];
    w.__longTasks = 0;
    w.__recording = true;
    if (!scripted) return;
    const viewport = document.querySelector<HTMLElement>('[data-testid="incident-list"] .viewport')!;
    const step = () => {
      if (!w.__recording) return;
      viewport.scrollTop = (viewport.scrollTop + 57) % (viewport.scrollHeight - viewport.clientHeight);
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }, driver === 'script');
  const started = performance.now();
  if (driver === 'wheel') {
    const box = (await page.locator('[data-testid="incident-list"] .viewport').boundingBox())!;
    for (let down = true; performance.now() - started < seconds * 1000; down = !down) {
      const distance = Math.min(20_000, Math.max(1, ((seconds * 1000 - (performance.now() - started)) / 1000) * 3420));
      await cdp.send('Input.synthesizeScrollGesture', {
        x: box.x + box.width / 2,
        y: box.y + box.height / 2,
        yDistance: down ? -distance : distance,
        speed: 3420,
        gestureSourceType: 'mouse',
        preventFling: true,
      });
    }
  } else await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __recording: boolean; __longTasks: number };
    w.__recording = false;
    return { frames: w.__frames, longTasks: w.__longTasks };
  });
}

/** Frames per second over recorded frame times. */
export const framesPerSecond = (frames: readonly number[]): number => Number((frames.length / (frames.reduce((a, b) => a + b, 0) / 1000)).toFixed(1));

/**
 * Streams incident changes into a server over the webhook, `rate` a second (every 100 ms, half of them new
 * incidents from number `firstNew` on, half resolutions of the oldest still open, from `firstOpen`), until stopped.
 */
export function streamChanges(url: string, token: string, options: { rate: number; firstNew: number; firstOpen?: number }): { sent: () => number; stop: () => Promise<void> } {
  let next = options.firstNew;
  let resolveFrom = options.firstOpen ?? 0;
  let sent = 0;
  let streaming = true;
  const perTick = Math.max(1, Math.round(options.rate / 20));
  const running = (async () => {
    while (streaming) {
      const started = performance.now();
      const batch = [...Array.from({ length: perTick }, () => queueAlert(next++)), ...Array.from({ length: perTick }, () => queueAlert(resolveFrom++, 'resolved'))];
      await postAlertmanager(url, token, batch);
      sent += batch.length;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (performance.now() - started))));
    }
  })();
  return {
    sent: () => sent,
    stop: async () => {
      streaming = false;
      await running;
    },
  };
}

/** A server of its own for one build of the app (`WATCHFLOOR_APP_DIR`), seeded, with an engineer signed in. */
export interface BuildServer {
  url: string;
  /** The Alertmanager source's token. */
  token: string;
  /** The engineer's session cookie. */
  cookie: { name: string; value: string };
  server: ChildProcess;
  dataDir: string;
}

/**
 * One server per build, as `npm start` runs it (its own process, PGlite on disk), on ports from `basePort`, each
 * seeded with the same `incidents` open incidents through the webhook: for benches that compare builds.
 * Stops what it started if one fails.
 */
export async function startBuildServers(appDirs: readonly string[], basePort: number, incidents: number): Promise<BuildServer[]> {
  const started: BuildServer[] = [];
  try {
    for (const [index, appDir] of appDirs.entries()) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-build-'));
      const env = { WATCHFLOOR_DATA: dataDir, WATCHFLOOR_APP_DIR: appDir };
      const url = `http://127.0.0.1:${basePort + index}`;
      const target: BuildServer = { url, token: '', cookie: { name: '', value: '' }, server: await startServer(env, basePort + index), dataDir };
      started.push(target);
      target.token = (JSON.parse(cli(env, ['source', 'add', '--name', 'bench', '--format', 'alertmanager'])) as { token: string }).token;
      const password = `bench-${randomBytes(8).toString('hex')}`;
      cli(env, ['user', 'add', '--email', 'bench@example.com', '--name', 'Bench Engineer', '--role', 'engineer', '--password-stdin'], password);
      await seedQueue(url, target.token, incidents);
      const login = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password }) });
      if (!login.ok) throw new Error(`sign-in failed: ${login.status}`);
      const [name, value] = login.headers.getSetCookie()[0].split(';')[0].split('=');
      target.cookie = { name, value };
    }
    return started;
  } catch (error) {
    await stopBuildServers(started);
    throw error;
  }
}

/** Stops the servers {@link startBuildServers} started and removes their data. */
export async function stopBuildServers(servers: readonly BuildServer[]): Promise<void> {
  for (const { server } of servers) {
    server.kill();
    await new Promise((resolve) => server.once('exit', resolve));
  }
  for (const { dataDir } of servers) fs.rmSync(dataDir, { recursive: true, force: true });
}
