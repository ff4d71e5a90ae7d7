/**
 * `npm run bench:wall`: the wall in headless Chromium (real canvas rendering, software GPU) against
 * the real server (a child process, PGlite on disk) with a big estate. Prints figures, never fails on
 * them (timing is measured here, not asserted in tests).
 *
 * 1. map of 5,000 nodes + 7,500 links (forced to node detail) while 200 status changes/s stream in
 *    through the Alertmanager webhook: frames/s (rAF cadence) and map draw times;
 * 2. 2,000-row × 90-day heatmap: draw time;
 * 3. wall JavaScript: the built chunks the wall route loads, gzipped;
 * 4. first live frame after load on loopback (wall live, map drawn with all nodes, queue rendered);
 * 5. server memory (RSS) with 50 walls connected (socket.io clients with device cookies on the screen
 *    feed) while changes stream; 60 s by default, `--full` for 10 minutes (or BENCH_MEMORY_SECONDS).
 *
 * Options (env): BENCH_STREAM_SECONDS (default 10), BENCH_MEMORY_SECONDS (default 60, 600 with --full).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Page } from 'playwright-core';
import { io, type Socket } from 'socket.io-client';
import { openDatabase } from '../../server/db/database.ts';
import { writeHistory } from '../e2e/wall-fixtures.ts';
import { alertmanagerBody } from '../helpers/alertmanager.ts';
import type { TopologyDocument } from '../../src/lib/protocol/topology.ts';
import type { WallWithTokenDto } from '../../src/lib/protocol/walls.ts';
import { cli, percentile, root, startServer } from './bench-support.ts';

const full = process.argv.includes('--full');
const streamSeconds = Number(process.env.BENCH_STREAM_SECONDS ?? 10);
const memorySeconds = Number(process.env.BENCH_MEMORY_SECONDS ?? (full ? 600 : 60));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'bench-password-123';

const figures: { measure: string; value: string; target: string }[] = [];
function report(measure: string, value: string, target: string): void {
  figures.push({ measure, value, target });
  console.log(`  ${measure}: ${value}  (target ${target})`);
}

/** A deterministic estate: 20 clients × 5 sites × 50 nodes, a tree per site plus cross links → 7,500 links. */
function estate(): TopologyDocument {
  let seed = 42;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const doc: Required<TopologyDocument> = { clients: [], sites: [], nodes: [], links: [] };
  const names: string[][] = [];
  for (let c = 0; c < 20; c++) {
    const client = `client-${String(c).padStart(2, '0')}`;
    doc.clients.push({ slug: client, name: `Client ${c}`, uptimeTarget: 99.9 });
    for (let s = 0; s < 5; s++) {
      const site = `Site ${s}`;
      doc.sites.push({ client, name: site });
      const siteNodes: string[] = [];
      for (let n = 0; n < 50; n++) {
        const name = `c${c}-s${s}-n${String(n).padStart(2, '0')}`;
        doc.nodes.push({ client, name, site, kind: n === 0 ? 'router' : n < 6 ? 'switch' : 'server' });
        if (n > 0) doc.links.push({ client, from: siteNodes[n < 6 ? 0 : 1 + Math.floor(rnd() * 5)], to: name, utilisation: Math.round(rnd() * 100) / 100 });
        siteNodes.push(name);
      }
      names.push(siteNodes.map((n) => `${client}|${n}`));
    }
  }
  // Extra links within clients (across sites too) up to 7,500.
  const seen = new Set(doc.links.map((l) => `${l.client}|${l.from}|${l.to}`));
  while (doc.links.length < 7500) {
    const c = Math.floor(rnd() * 20);
    const a = names[c * 5 + Math.floor(rnd() * 5)][Math.floor(rnd() * 50)].split('|');
    const b = names[c * 5 + Math.floor(rnd() * 5)][Math.floor(rnd() * 50)].split('|');
    const key = `${a[0]}|${a[1]}|${b[1]}`;
    if (a[1] === b[1] || seen.has(key) || seen.has(`${a[0]}|${b[1]}|${a[1]}`)) continue;
    seen.add(key);
    doc.links.push({ client: a[0], from: a[1], to: b[1], utilisation: Math.round(rnd() * 100) / 100 });
  }
  return doc;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}


/** 200 status changes/s: every 100 ms, 20 alerts (own incident each) fire or resolve on random nodes. */
function streamChanges(url: string, token: string, nodes: { client: string; name: string }[], perSecond: number): { stop: () => Promise<number> } {
  // Each firing is a new occurrence (its own startsAt); its resolve carries the same startsAt, as Alertmanager sends it.
  const firing = new Map<number, string>();
  let sent = 0;
  let running = true;
  let seed = 9;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pool = nodes.slice(0, 1500);
  const perTick = Math.max(1, Math.round(perSecond / 10));
  const loop = (async () => {
    let next = Date.now();
    while (running) {
      const alerts = Array.from({ length: perTick }, () => {
        const i = Math.floor(rnd() * pool.length);
        const n = pool[i];
        const resolving = firing.has(i);
        const startsAt = firing.get(i) ?? new Date().toISOString();
        if (resolving) firing.delete(i);
        else firing.set(i, startsAt);
        return {
          name: `Bench-${n.name}`,
          client: n.client,
          instance: n.name,
          severity: ['critical', 'high', 'warning'][i % 3],
          status: resolving ? ('resolved' as const) : ('firing' as const),
          fingerprint: `bench-${n.client}-${n.name}`,
          startsAt,
          ...(resolving ? { endsAt: new Date().toISOString() } : {}),
        };
      });
      await fetch(`${url}/api/v1/ingest/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: alertmanagerBody(alerts) }).catch(() => undefined);
      sent += alerts.length;
      next += 100;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return sent;
    },
  };
}

async function measureFrames(page: Page, seconds: number): Promise<{ fps: number; p95FrameMs: number; maxFrameMs: number; longTaskMs: number; longTasks: number }> {
  return page.evaluate(async (ms) => {
    const stamps: number[] = [];
    // Main-thread tasks over 50 ms (our script): tells our own work apart from a starved CPU.
    let longTaskMs = 0;
    let longTasks = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        longTaskMs += entry.duration;
        longTasks++;
      }
    });
    observer.observe({ type: 'longtask', buffered: false });
    await new Promise<void>((resolve) => {
      const start = performance.now();
      const tick = (t: number) => {
        stamps.push(t);
        if (t - start < ms) requestAnimationFrame(tick);
        else resolve();
      };
      requestAnimationFrame(tick);
    });
    observer.disconnect();
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
    return {
      longTaskMs,
      longTasks,
      fps: (stamps.length - 1) / ((stamps[stamps.length - 1] - stamps[0]) / 1000),
      p95FrameMs: gaps[Math.floor(gaps.length * 0.95)] ?? NaN,
      maxFrameMs: gaps[gaps.length - 1] ?? NaN,
    };
  }, seconds * 1000);
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(root, 'build', 'pages', 'shell.html'))) {
    console.log('building the app…');
    spawnSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-bench-wall-'));
  const env = { WATCHFLOOR_DATA: dataDir };
  const port = 18000 + Math.floor(Math.random() * 1000);
  const url = `http://127.0.0.1:${port}`;
  let server: ChildProcess | null = null;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    console.log('setting up: 5,000 nodes, 7,500 links, 90 days of history…');
    cli(env, ['user', 'add', '--email', 'bench@example.com', '--name', 'Bench', '--role', 'admin', '--password-stdin'], PASSWORD);
    const { token } = JSON.parse(cli(env, ['source', 'add', '--name', 'bench', '--format', 'alertmanager'])) as { token: string };
    const doc = estate();
    const file = path.join(dataDir, 'estate.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    const started = Date.now();
    cli(env, ['topology', 'import', file]);
    console.log(`  import + layout of ${doc.nodes!.length} nodes, ${doc.links!.length} links: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    {
      const database = await openDatabase({ url: null, dataDir });
      await writeHistory(database, { days: 90, share: 0.4 });
      await database.close();
    }
    server = await startServer(env, port);
    const signIn = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD }) });
    const cookie = signIn.headers.getSetCookie()[0].split(';')[0];
    const post = async <T>(p: string, body: unknown) =>
      (await (await fetch(`${url}${p}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as T;
    const mapWall = await post<WallWithTokenDto>('/api/v1/walls', {
      name: 'Bench map',
      pages: [{ name: 'Map', dwellSeconds: 60, columns: 12, rows: 12, panels: [{ kind: 'map', x: 0, y: 0, w: 9, h: 12 }, { kind: 'queue', x: 9, y: 0, w: 3, h: 12 }] }],
    });
    const heatClients = doc.clients!.slice(0, 8).map((c) => c.slug);
    const heatWall = await post<WallWithTokenDto>('/api/v1/walls', {
      name: 'Bench heatmap',
      clients: heatClients,
      pages: [{ name: 'Uptime', dwellSeconds: 60, columns: 12, rows: 12, panels: [{ kind: 'heatmap', x: 0, y: 0, w: 12, h: 12, range: '90d' }] }],
    });

    // 3 + 4: JS loaded by the wall route, and the first live frame.
    console.log('\nwall JavaScript and first live frame (1920×1080)');
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const page = await context.newPage();
    const scripts = new Set<string>();
    page.on('response', (response) => {
      const u = new URL(response.url());
      if (u.pathname.endsWith('.js')) scripts.add(u.pathname);
    });
    await page.goto(`${url}${mapWall.openPath}`);
    const ready = () =>
      page.waitForFunction(
        () => {
          const wall = document.querySelector('[data-testid="wall"]');
          const map = document.querySelector<HTMLElement>('.topology');
          return wall?.getAttribute('data-status') === 'live' && map?.dataset.nodes === '5000' && document.querySelector('[data-testid="queue-panel"]') !== null;
        },
        undefined,
        { polling: 'raf', timeout: 60_000 },
      );
    await ready();
    const loads: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto(`${url}/wall/${mapWall.wall.id}`);
      await ready();
      loads.push(await page.evaluate(() => performance.now()));
    }
    let gzipped = 0;
    let raw = 0;
    for (const p of scripts) {
      const file = path.join(root, 'build', p);
      if (!fs.existsSync(file)) continue;
      const bytes = fs.readFileSync(file);
      raw += bytes.length;
      gzipped += zlib.gzipSync(bytes, { level: 9 }).length;
    }
    report('wall JavaScript (gzipped)', `${(gzipped / 1024).toFixed(1)} KB in ${scripts.size} files (${(raw / 1024).toFixed(0)} KB raw)`, '≤ 250 KB');
    report('first live frame after load (5,000-node map)', `median ${Math.round(percentile(loads, 50))} ms, worst ${Math.round(Math.max(...loads))} ms (of ${loads.length} reloads)`, '≤ 1,500 ms');

    // 1: the map at node detail while changes stream in.
    console.log(`\nmap of 5,000 nodes + 7,500 links at node detail, ${streamSeconds} s of 200 status changes/s`);
    await page.goto(`${url}/wall/${mapWall.wall.id}?bench&detail=nodes`);
    await ready();
    const idle = await measureFrames(page, 3);
    report('frames/s, idle', `${idle.fps.toFixed(1)} fps (p95 frame ${idle.p95FrameMs.toFixed(1)} ms)`, '—');
    await page.evaluate(() => ((window as unknown as { __watchfloorBench: { draws: unknown[] } }).__watchfloorBench.draws.length = 0));
    const nodes = doc.nodes!.map((n) => ({ client: n.client, name: n.name }));
    const stream = streamChanges(url, token, nodes, 200);
    const busy = await measureFrames(page, streamSeconds);
    const sent = await stream.stop();
    const draws = await page.evaluate(() => (window as unknown as { __watchfloorBench: { draws: { kind: string; ms: number }[] } }).__watchfloorBench.draws.filter((d) => d.kind === 'map').map((d) => d.ms));
    const alerting = await page.evaluate(() => document.querySelector<HTMLElement>('.topology')?.dataset.alerting);
    report('frames/s while 200 changes/s stream in', `${busy.fps.toFixed(1)} fps (p95 frame ${busy.p95FrameMs.toFixed(1)} ms, worst ${busy.maxFrameMs.toFixed(0)} ms)`, '≥ 30 fps');
    report('page main thread busy (tasks > 50 ms) while streaming', `${busy.longTasks} tasks, ${(busy.longTaskMs / streamSeconds / 10).toFixed(1)} % of the time`, '—');
    report('machine load (1-min average, 2 cores)', os.loadavg()[0].toFixed(2), '—');
    report('map draw (5,000 nodes, 7,500 links)', `median ${percentile(draws, 50).toFixed(1)} ms, p95 ${percentile(draws, 95).toFixed(1)} ms over ${draws.length} redraws`, '—');
    report('changes streamed', `${sent} alert changes in ${streamSeconds} s (${(sent / streamSeconds).toFixed(0)}/s); ${alerting} nodes alerting at the end`, '200/s');
    await context.close();

    // 2: the heatmap, 2,000 rows × 90 days, on a screen tall enough to draw every row.
    console.log('\nheatmap of 2,000 nodes × 90 days');
    const tall = await browser.newContext({ viewport: { width: 1920, height: 7600 } });
    const heat = await tall.newPage();
    await heat.goto(`${url}${heatWall.openPath}`);
    await heat.goto(`${url}/wall/${heatWall.wall.id}?bench`);
    await heat.waitForFunction(() => (window as unknown as { __watchfloorBench?: { draws: { kind: string }[] } }).__watchfloorBench?.draws.some((d) => d.kind === 'heatmap'), undefined, { timeout: 60_000 });
    for (const height of [7590, 7600, 7580, 7600]) {
      await heat.setViewportSize({ width: 1920, height });
      await heat.waitForTimeout(300);
    }
    const heatDraws = await heat.evaluate(() => (window as unknown as { __watchfloorBench: { draws: { kind: string; ms: number }[] } }).__watchfloorBench.draws.filter((d) => d.kind === 'heatmap').map((d) => d.ms));
    const rows = await heat.evaluate(() => document.querySelector<HTMLElement>('.heatmap')?.dataset.rows);
    report('heatmap draw (2,000 × 90)', `median ${percentile(heatDraws, 50).toFixed(0)} ms, worst ${Math.max(...heatDraws).toFixed(0)} ms over ${heatDraws.length} draws; ${rows} node rows drawn`, '≤ 200 ms');
    await tall.close();

    // 5: server memory with 50 walls connected.
    console.log(`\nserver memory, 50 walls connected, ${memorySeconds} s of 50 changes/s`);
    const opened = await fetch(`${url}${mapWall.openPath}`, { redirect: 'manual' });
    const wallCookie = opened.headers.getSetCookie()[0].split(';')[0];
    const walls: Socket[] = [];
    let deltas = 0;
    for (let i = 0; i < 50; i++) {
      const s = io(url, { extraHeaders: { cookie: wallCookie }, auth: { wallId: mapWall.wall.id }, transports: ['websocket'] });
      s.on('connect', () => s.emit('incidents:subscribe', { scope: {}, mode: 'screen' }, () => {}));
      s.on('incidents:changed', () => deltas++);
      walls.push(s);
    }
    await new Promise((r) => setTimeout(r, 3000));
    const samples: { t: number; mb: number }[] = [];
    const t0 = Date.now();
    const memStream = streamChanges(url, token, nodes, 50);
    while (Date.now() - t0 < memorySeconds * 1000) {
      samples.push({ t: (Date.now() - t0) / 1000, mb: rssMb(server.pid!) });
      await new Promise((r) => setTimeout(r, 5000));
    }
    await memStream.stop();
    samples.push({ t: (Date.now() - t0) / 1000, mb: rssMb(server.pid!) });
    for (const s of walls) s.disconnect();
    const half = samples.slice(Math.floor(samples.length / 2));
    const slope = half.length > 1 ? ((half[half.length - 1].mb - half[0].mb) / (half[half.length - 1].t - half[0].t)) * 60 : NaN;
    report(
      'server RSS with 50 walls',
      `start ${samples[0].mb.toFixed(0)} MB, end ${samples[samples.length - 1].mb.toFixed(0)} MB, max ${Math.max(...samples.map((s) => s.mb)).toFixed(0)} MB; second half ${slope >= 0 ? '+' : ''}${slope.toFixed(1)} MB/min; ${deltas} deltas delivered`,
      'flat',
    );
  } finally {
    await browser.close();
    server?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log('\n| measure | figure | target |\n| --- | --- | --- |');
  for (const f of figures) console.log(`| ${f.measure} | ${f.value} | ${f.target} |`);
  console.log(JSON.stringify({ figures }));
}

await main();
