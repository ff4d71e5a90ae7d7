/**
 * `npm run bench:console`: the built console in headless Chromium with 10,000 open incidents.
 *
 * A real server, as `npm start` runs it (its own process, embedded PGlite on disk), is seeded through
 * the real Alertmanager webhook, then the queue is opened in Chromium over the real socket. Prints:
 * - time to first render: navigation start → the first queue row on screen with all incidents counted,
 *   on a first visit (nothing cached) and on a returning one (the app served by its service worker).
 *   That screen is drawn from the head the server sends ahead of the snapshot (`incidents:head`); the
 *   steps after it (head received, snapshot received → applied: the whole queue in) are printed too;
 * - JS heap after load (after a forced GC) and the number of rows in the DOM;
 * - frame time and fps while 100 incident changes a second stream in (half of them new incidents,
 *   half resolutions), first with the list still, then while it is scrolled continuously (see BENCH_SCROLL).
 *
 * Targets (issue #4): ≤ 500 ms to first render, ≥ 50 fps. Needs `npx vite build` first.
 * Options (env): BENCH_INCIDENTS (default 10000), BENCH_SECONDS (per phase, default 6), BENCH_RATE (changes/s, default 100),
 * BENCH_CPU_SLOWDOWN (default 1: the page's CPU slowed down by this factor, as Chromium's DevTools do, to see a slower machine),
 * BENCH_VISITS (default 1: first and returning visits each made this many times; the run with the median first render is printed),
 * BENCH_TRACE (a file: Chromium's performance trace of the first visit goes there, of the last returning visit to
 *   <file>.returning.json; both open in DevTools' Performance panel),
 * BENCH_SCROLL (default "wheel": the scrolling phase scrolls as a person does, with mouse-wheel input through
 *   Chromium's compositor; "script": the page sets scrollTop every frame, as the figures before 2026-12-07 were taken,
 *   which spends the page's own frames on the forced layouts of that script).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { assertAppBuilt, launchBrowser } from '../e2e/browser.ts';
import { cli, percentile, startServer } from './bench-support.ts';
import { type ScrollDriver, firstRenderOf, framesPerSecond, markFirstRender, measureFrames, recordFrames, seedQueue, streamChanges } from './console-support.ts';

const incidents = Number(process.env.BENCH_INCIDENTS ?? 10_000);
const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const rate = Number(process.env.BENCH_RATE ?? 100);
const cpuSlowdown = Number(process.env.BENCH_CPU_SLOWDOWN ?? 1);
const traceFile = process.env.BENCH_TRACE;
const visits = Number(process.env.BENCH_VISITS ?? 1);
const scrollDriver: ScrollDriver = process.env.BENCH_SCROLL === 'script' ? 'script' : 'wheel';

/** When each step of opening the queue happened, in ms since navigation start. */
interface Steps {
  firstRender: number;
  domContentLoaded: number;
  sessionChecked: number;
  connecting: number;
  connected: number;
  headReceived: number;
  snapshotReceived: number;
  snapshotApplied: number;
}

/** The visit with the median first render (the lower middle one of an even count). */
function median(runs: Steps[]): Steps {
  return [...runs].sort((a, b) => a.firstRender - b.firstRender)[Math.floor((runs.length - 1) / 2)];
}

/** What the page logs when the whole snapshot is applied (the first render may come before it, from the head). */
const QUEUE_COMPLETE = 'watchfloor-bench:queue-complete';

assertAppBuilt();
// In its own process: sharing this one's event loop with the browser driver delayed the app's files by 40–50 ms.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-console-'));
const env = { WATCHFLOOR_DATA: dataDir };
const server = await startServer(env, 18_940);
const url = 'http://127.0.0.1:18940';
const browser = await launchBrowser();
try {
  const { token } = JSON.parse(cli(env, ['source', 'add', '--name', 'bench', '--format', 'alertmanager'])) as { token: string };
  const password = `bench-${randomBytes(8).toString('hex')}`;
  cli(env, ['user', 'add', '--email', 'bench@example.com', '--name', 'Bench Engineer', '--role', 'engineer', '--password-stdin'], password);

  const seedStart = performance.now();
  await seedQueue(url, token, incidents);
  const seedSeconds = (performance.now() - seedStart) / 1000;

  const login = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password }) });
  if (!login.ok) throw new Error(`sign-in failed: ${login.status}`);
  const [name, value] = login.headers.getSetCookie()[0].split(';')[0].split('=');
  /** A signed-in browser profile of its own: nothing cached, no service worker yet. */
  async function newProfile() {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    await context.addCookies([{ name, value, url }]);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    if (cpuSlowdown !== 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuSlowdown });
    await markFirstRender(page, incidents);
    // Tells when the whole snapshot is applied.
    await page.addInitScript((QUEUE_COMPLETE) => {
      new PerformanceObserver((entries) => {
        if (entries.getEntries().some((entry) => entry.name === 'wf:snapshot-applied')) console.debug(QUEUE_COMPLETE);
      }).observe({ type: 'mark' });
    }, QUEUE_COMPLETE);
    await recordFrames(page);
    return { context, page, cdp };
  }

  /** Navigates to the queue and waits for its first render; returns when each step happened (ms since navigation start). */
  async function openConsole(page: Page): Promise<Steps> {
    const complete = page.waitForEvent('console', { predicate: (message) => message.text() === QUEUE_COMPLETE, timeout: 60_000 });
    const firstRender = await firstRenderOf(page, `${url}/`, [complete]);
    const steps = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const mark = (name: string) => Math.round(performance.getEntriesByName(name)[0]?.startTime ?? -1);
      return {
        domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
        sessionChecked: Math.round((performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((r) => r.name.endsWith('/api/v1/session'))?.responseEnd ?? -1),
        connecting: mark('wf:connecting'),
        connected: mark('wf:connected'),
        headReceived: mark('wf:head-received'),
        snapshotReceived: mark('wf:snapshot-received'),
        snapshotApplied: mark('wf:snapshot-applied'),
      };
    });
    return { firstRender, ...steps };
  }
  // Let the server settle after seeding, as it would be when an engineer opens the console.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // First visit: nothing cached. Then a returning engineer: the service worker the first visit installed
  // serves the app shell and code (V8 has it compiled), as on every later day of a NOC console.
  // Each first visit in a new profile; the last one stays for the returning visits and the stream.
  const firstVisits: Steps[] = [];
  let profile = await newProfile();
  for (let visit = 1; ; visit++) {
    if (traceFile && visit === 1) await browser.startTracing(profile.page, { path: traceFile, screenshots: true });
    firstVisits.push(await openConsole(profile.page));
    if (traceFile && visit === 1) await browser.stopTracing();
    if (visit === visits) break;
    await profile.context.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    profile = await newProfile();
  }
  const { context, page, cdp } = profile;
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await openConsole(page); // the first controlled load writes V8's code cache
  const returningVisits: Steps[] = [];
  for (let visit = 1; visit <= visits; visit++) {
    await new Promise((resolve) => setTimeout(resolve, visit === 1 ? 1000 : 500));
    if (traceFile && visit === visits) await browser.startTracing(page, { path: `${traceFile}.returning.json`, screenshots: true });
    returningVisits.push(await openConsole(page));
    if (traceFile && visit === visits) await browser.stopTracing();
  }
  const cold = median(firstVisits);
  const warm = median(returningVisits);
  const rowsInDom = await page.locator('[data-testid="incident-row"]').count();

  await cdp.send('HeapProfiler.collectGarbage');
  const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number };

  // 100 changes/s: every 100 ms, rate/20 new incidents and rate/20 resolutions, over the webhook.
  const stream = streamChanges(url, token, { rate, firstNew: incidents });

  async function measure(scroll: boolean) {
    const sentBefore = stream.sent();
    const started = performance.now();
    const { frames, longTasks } = await measureFrames(page, cdp, seconds, scroll ? scrollDriver : 'none');
    const elapsed = (performance.now() - started) / 1000;
    const { rendered, count } = await page.evaluate(() => {
      const list = document.querySelector('[data-testid="incident-list"]');
      return { rendered: document.querySelectorAll('[data-testid="incident-row"]').length, count: Number(list?.getAttribute('data-count')) };
    });
    const sorted = [...frames].sort((a, b) => a - b);
    return {
      phase: scroll ? 'streaming + scrolling' : 'streaming, list still',
      changesPerSecond: Math.round((stream.sent() - sentBefore) / elapsed),
      fps: framesPerSecond(frames),
      frameMsP50: Number(percentile(sorted, 50).toFixed(1)),
      frameMsP95: Number(percentile(sorted, 95).toFixed(1)),
      frameMsMax: Number((sorted.at(-1) ?? 0).toFixed(1)),
      framesOver20ms: frames.filter((f) => f > 20).length,
      longTasks,
      rowsInDom: rendered,
      openIncidents: count,
    };
  }

  await new Promise((resolve) => setTimeout(resolve, 1000)); // let the stream settle in
  const still = await measure(false);
  const scrolling = await measure(true);
  await stream.stop();
  const heapAfter = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };

  const result = {
    incidents,
    seedSeconds: Number(seedSeconds.toFixed(1)),
    /** Each step of opening the queue, in ms since navigation start: a first visit, and a returning one. */
    firstVisit: cold,
    returning: warm,
    firstRenders: { firstVisits: firstVisits.map((v) => v.firstRender), returningVisits: returningVisits.map((v) => v.firstRender) },
    rowsInDom,
    jsHeapMB: Number((heap.usedSize / 1048576).toFixed(1)),
    jsHeapAfterStreamingMB: Number((heapAfter.usedSize / 1048576).toFixed(1)),
    phases: [still, scrolling],
  };
  console.log(JSON.stringify(result, null, 2));
  console.log('');
  console.log(`| open incidents | visit | first render${visits > 1 ? ` (median of ${visits}; all)` : ''} | socket connecting → connected | session checked | head received | snapshot received → applied | JS heap | rows in DOM |`);
  console.log(`| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const [visit, t, runs] of [['first', cold, firstVisits], ['returning', warm, returningVisits]] as const) {
    const all = visits > 1 ? ` (${runs.map((v) => v.firstRender).join(', ')})` : '';
    console.log(
      `| ${incidents.toLocaleString('en')} | ${visit} | ${t.firstRender} ms${all} | ${t.connecting} → ${t.connected} ms | ${t.sessionChecked} ms | ${t.headReceived} ms | ${t.snapshotReceived} → ${t.snapshotApplied} ms | ${result.jsHeapMB} MB | ${rowsInDom} |`,
    );
  }
  console.log('');
  console.log(`| phase | changes/s | fps | frame p50 / p95 / max ms | frames > 20 ms | long tasks |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const p of result.phases) {
    console.log(`| ${p.phase} | ${p.changesPerSecond} | ${p.fps} | ${p.frameMsP50} / ${p.frameMsP95} / ${p.frameMsMax} | ${p.framesOver20ms} | ${p.longTasks} |`);
  }
  await context.close();
} finally {
  await browser.close();
  server.kill();
  await new Promise((resolve) => server.once('exit', resolve));
  fs.rmSync(dataDir, { recursive: true, force: true });
}
