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
import { launchBrowser } from '../e2e/browser.ts';
import { percentile } from './bench-support.ts';
import { type BuildServer, firstRenderOf, framesPerSecond, markFirstRender, measureFrames, recordFrames, startBuildServers, stopBuildServers, streamChanges } from './console-support.ts';

const builds = process.argv.slice(2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 6);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const driver = process.env.BENCH_SCROLL === 'script' ? 'script' : 'wheel';
const INCIDENTS = 10_000;
if (builds.length === 0) {
  console.error('usage: npm run bench:scroll-compare -- <app dir> <app dir> [...]   (each a build/ folder of the app)');
  process.exit(2);
}

const appDirs = builds.map((build) => path.resolve(build));
for (const appDir of appDirs) {
  if (!fs.existsSync(path.join(appDir, 'pages', 'shell.html'))) {
    console.error(`${appDir} is not a build of the app (no pages/shell.html in it)`);
    process.exit(2);
  }
}
const browser = await launchBrowser();
/** Per build: its server, the incidents opened and resolved so far (each run's stream goes on from there), and its runs. */
let targets: (BuildServer & { build: string; opened: number; resolved: number; fps: number[]; p95: number[] })[] = [];
try {
  targets = (await startBuildServers(appDirs, 18_980, INCIDENTS)).map((server, index) => ({ ...server, build: builds[index], opened: INCIDENTS, resolved: 0, fps: [], p95: [] }));
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
      const stream = streamChanges(target.url, target.token, { rate: 100, firstNew: target.opened, firstOpen: target.resolved });
      await new Promise((resolve) => setTimeout(resolve, 1000)); // let the stream settle in
      const { frames } = await measureFrames(page, cdp, seconds, driver);
      await stream.stop();
      target.opened += stream.sent() / 2;
      target.resolved += stream.sent() / 2;
      target.fps.push(framesPerSecond(frames));
      target.p95.push(Number(percentile(frames, 95).toFixed(1)));
      await context.close();
    }
  }
} finally {
  await browser.close();
  await stopBuildServers(targets);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
console.log(JSON.stringify({ bench: 'scroll-compare', driver, rounds, seconds, cpus: os.cpus().length, builds: targets.map(({ build, fps, p95 }) => ({ build, fps, p95FrameMs: p95 })) }, null, 2));
console.log(`\n| build | fps while scrolling (${driver}), median | all runs | p95 frame ms, median |\n| --- | ---: | --- | ---: |`);
for (const { build, fps, p95 } of targets) console.log(`| ${build} | ${median(fps)} | ${fps.join(', ')} | ${median(p95)} |`);
