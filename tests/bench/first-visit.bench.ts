/**
 * `npm run bench:first-visit -- <app dir> [<app dir> …]`: compares builds of the app on the console's first
 * visit (nothing cached), the figure that moves most with how the app is built and shipped.
 *
 * One server per build (`WATCHFLOOR_APP_DIR`, each its own PGlite with the same 10,000 open incidents), and
 * first visits taken in rounds, each round visiting every build once in a random order, in a new browser
 * profile each time: noise from the machine (other work, a neighbour's CPU) falls on every build alike, which
 * back-to-back runs of `bench:console` cannot promise. Prints each build's first renders and their quartiles.
 *
 * Try a change: `npx vite build && cp -r build /tmp/app-before`, make the change, `npx vite build`,
 * then `npm run bench:first-visit -- /tmp/app-before build`.
 * Options (env): BENCH_ROUNDS (default 12), BENCH_INCIDENTS (default 10000).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '../e2e/browser.ts';
import { percentile } from './bench-support.ts';
import { type BuildServer, firstRenderOf, markFirstRender, startBuildServers, stopBuildServers } from './console-support.ts';

const builds = process.argv.slice(2);
const appDirs = builds.map((dir) => path.resolve(dir));
const rounds = Number(process.env.BENCH_ROUNDS ?? 12);
const incidents = Number(process.env.BENCH_INCIDENTS ?? 10_000);
if (appDirs.length === 0) {
  console.error('usage: npm run bench:first-visit -- <app dir> [<app dir> …]   (each a build/ folder of the app)');
  process.exit(2);
}
for (const dir of appDirs) {
  if (!fs.existsSync(path.join(dir, 'pages', 'shell.html'))) {
    console.error(`${dir} is not a build of the app this server serves (no pages/shell.html in it)`);
    process.exit(2);
  }
}

const browser = await launchBrowser();
let targets: (BuildServer & { firstRenders: number[] })[] = [];
try {
  targets = (await startBuildServers(appDirs, 18_970, incidents)).map((server) => ({ ...server, firstRenders: [] }));
  await new Promise((resolve) => setTimeout(resolve, 1000)); // let the servers settle after seeding

  for (let round = 0; round < rounds; round++) {
    const order = targets.map((target) => ({ target, key: Math.random() })).sort((a, b) => a.key - b.key);
    for (const { target } of order) {
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      await context.addCookies([{ ...target.cookie, url: target.url }]);
      const page = await context.newPage();
      await markFirstRender(page, incidents);
      target.firstRenders.push(await firstRenderOf(page, `${target.url}/`));
      await context.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
} finally {
  await browser.close();
  await stopBuildServers(targets);
}

const rows = targets.map(({ firstRenders }, index) => ({
  build: builds[index],
  'median ms': percentile(firstRenders, 50),
  'q1 ms': percentile(firstRenders, 25),
  'q3 ms': percentile(firstRenders, 75),
  'min ms': Math.min(...firstRenders),
  'max ms': Math.max(...firstRenders),
}));
console.log(JSON.stringify({ bench: 'first-visit', incidents, rounds, cpus: os.cpus().length, node: process.version, rows, firstRenders: Object.fromEntries(targets.map((t, i) => [rows[i].build, t.firstRenders])) }, null, 2));
console.log('');
console.log(`| build | first render, median | quartiles | fastest – slowest |`);
console.log(`| --- | ---: | ---: | ---: |`);
for (const row of rows) console.log(`| ${row.build} | ${row['median ms']} ms | ${row['q1 ms']}–${row['q3 ms']} ms | ${row['min ms']}–${row['max ms']} ms |`);
