/**
 * `npm run bench:scroll-compare -- <app dir> <app dir> [...]`: compares builds of the app on what bench:console's
 * scrolling phase measures (frames while the queue of 10,000 open incidents scrolls and 100 changes a second
 * stream in), in alternating rounds so a noisy machine's drift falls on every build alike.
 *
 * One server per build (`WATCHFLOOR_APP_DIR`, each its own PGlite with the same 10,000 incidents); each round opens
 * every build once, in a new browser profile (only one page open at a time: an idle page of another build would
 * take CPU from the one measured), waits for the whole queue, streams, and scrolls with the wheel for
 * BENCH_SECONDS. Prints each build's fps per run and their median.
 *
 * Try a change: `npx vite build && cp -r build /tmp/app-before`, make the change, `npx vite build`, then
 * `npm run bench:scroll-compare -- /tmp/app-before build`.
 * Options (env): BENCH_ROUNDS (default 6), BENCH_SECONDS (default 5), BENCH_SCROLL ("wheel", default, or "script").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { launchBrowser } from '../e2e/browser.ts';
import { cli, percentile, startServer } from './bench-support.ts';
import { firstRenderOf, framesPerSecond, markFirstRender, measureFrames, recordFrames, seedQueue, streamChanges } from './console-support.ts';

const builds = process.argv.slice(2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const driver = process.env.BENCH_SCROLL === 'script' ? 'script' : 'wheel';
const INCIDENTS = 10_000;
if (builds.length === 0) {
  console.error('usage: npm run bench:scroll-compare -- <app dir> <app dir> [...]   (each a build/ folder of the app)');
  process.exit(2);
}

interface Target {
  build: string;
  url: string;
  token: string;
  cookie: { name: string; value: string };
  server: ChildProcess;
  dataDir: string;
  /** Incidents opened so far: each run's stream opens new ones after them. */
  opened: number;
  fps: number[];
  p95: number[];
}

const targets: Target[] = [];
const browser = await launchBrowser();
try {
  for (const [index, build] of builds.entries()) {
    const appDir = path.resolve(build);
    if (!fs.existsSync(path.join(appDir, 'pages', 'shell.html'))) throw new Error(`${appDir} is not a build of the app (no pages/shell.html in it)`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-scroll-'));
    const env = { WATCHFLOOR_DATA: dataDir, WATCHFLOOR_APP_DIR: appDir };
    const port = 18_980 + index;
    const server = await startServer(env, port);
    const url = `http://127.0.0.1:${port}`;
    const { token } = JSON.parse(cli(env, ['source', 'add', '--name', 'bench', '--format', 'alertmanager'])) as { token: string };
    const password = `bench-${randomBytes(8).toString('hex')}`;
    cli(env, ['user', 'add', '--email', 'bench@example.com', '--name', 'Bench Engineer', '--role', 'engineer', '--password-stdin'], password);
    targets.push({ build, url, token, cookie: { name: '', value: '' }, server, dataDir, opened: INCIDENTS, fps: [], p95: [] });
    await seedQueue(url, token, INCIDENTS);
    const login = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password }) });
    const [name, value] = login.headers.getSetCookie()[0].split(';')[0].split('=');
    targets[index].cookie = { name, value };
  }

  for (let round = 0; round < rounds; round++) {
    for (const target of round % 2 ? [...targets].reverse() : targets) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      await context.addCookies([{ ...target.cookie, url: target.url }]);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await markFirstRender(page, INCIDENTS);
      await recordFrames(page);
      await firstRenderOf(page, `${target.url}/`);
      await page.waitForFunction(() => performance.getEntriesByName('wf:snapshot-applied').length > 0, undefined, { timeout: 60_000 });
      const stream = streamChanges(target.url, target.token, { rate: 100, firstNew: target.opened });
      await new Promise((resolve) => setTimeout(resolve, 1000)); // let the stream settle in
      const { frames } = await measureFrames(page, cdp, seconds, driver);
      await stream.stop();
      target.opened += stream.sent() / 2;
      target.fps.push(framesPerSecond(frames));
      target.p95.push(Number(percentile(frames, 95).toFixed(1)));
      await context.close();
    }
  }
} finally {
  await browser.close();
  for (const { server } of targets) {
    server.kill();
    await new Promise((resolve) => server.once('exit', resolve));
  }
  for (const { dataDir } of targets) fs.rmSync(dataDir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
console.log(JSON.stringify({ bench: 'scroll-compare', driver, rounds, seconds, cpus: os.cpus().length, builds: targets.map(({ build, fps, p95 }) => ({ build, fps, p95FrameMs: p95 })) }, null, 2));
console.log(`\n| build | fps while scrolling (${driver}), median | all runs | p95 frame ms, median |\n| --- | ---: | --- | ---: |`);
for (const { build, fps, p95 } of targets) console.log(`| ${build} | ${median(fps)} | ${fps.join(', ')} | ${median(p95)} |`);
