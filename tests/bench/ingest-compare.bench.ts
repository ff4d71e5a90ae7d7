/**
 * `npm run bench:ingest-compare -- <checkout> <checkout> [...]`: committed signals/s of bench:ingest's mix on
 * Postgres for several checkouts of Watchfloor (each a folder with this repository and its node_modules), run in
 * alternating rounds so a noisy machine's drift falls on all of them alike (back-to-back runs of bench:ingest
 * here differed by 15 %). Each run: a fresh database, that checkout's server in its own process, 30 batches to
 * warm up, then BENCH_BATCHES (default 300) Alertmanager batches of 500, BENCH_SENDERS (default 16) in flight; no
 * socket clients. Prints signals/s and the CPU time per signal of the server process and of the database's Postgres
 * backends (on a shared machine steadier than signals/s).
 *
 * Try a change: `git worktree add /tmp/before HEAD && ln -s "$PWD/node_modules" /tmp/before/node_modules`, make
 * the change, then `TEST_DATABASE_URL=… npm run bench:ingest-compare -- /tmp/before .`.
 * Options (env): BENCH_ROUNDS (default 4), BENCH_BATCHES (default 300), BENCH_SENDERS, BENCH_DATABASE (postgres, the
 * default, or pglite: each run on a fresh embedded database in a temporary folder; no database URL needed),
 * BENCH_NODE_ARGS (for the servers, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { benchTargets, cpuSeconds, maxSenders } from './bench-support.ts';
import { makeBatchFactory, postBatch } from './ingest-traffic.ts';

const checkouts = process.argv.slice(2).map((dir) => path.resolve(dir));
const adminUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const database = process.env.BENCH_DATABASE ?? 'postgres';
if (checkouts.length === 0 || !['postgres', 'pglite'].includes(database) || (database === 'postgres' && !adminUrl)) {
  console.error('usage: TEST_DATABASE_URL=postgres://… npm run bench:ingest-compare -- <checkout> <checkout> [...]');
  console.error('       BENCH_DATABASE=pglite npm run bench:ingest-compare -- <checkout> <checkout> [...]');
  process.exit(2);
}
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const batches = Number(process.env.BENCH_BATCHES ?? 300);
const port = 18_990;
const url = `http://127.0.0.1:${port}`;

/** Posts `count` batches of 500, `maxSenders` at a time; returns committed signals/s. */
async function drive(token: string, count: number): Promise<number> {
  const makeBatch = makeBatchFactory();
  const bodies = Array.from({ length: count }, (_, i) => JSON.stringify(makeBatch(500, `Compare${i}`)));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: maxSenders }, async () => {
      while (next < count) {
        const status = await postBatch(url, token, bodies[next++]);
        if (status >= 300) throw new Error(`ingest answered ${status}`);
      }
    }),
  );
  return (count * 500) / ((performance.now() - started) / 1000);
}

/** What one run measured: committed signals/s, and the CPU time per signal (µs) of the server process and of Postgres. */
interface RunResult {
  rate: number;
  serverMicros: number;
  databaseMicros: number;
}

/** One run of `checkout`'s server on a fresh database. */
async function run(checkout: string): Promise<RunResult> {
  const [fresh] = await benchTargets('wf-compare-', [database]);
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const env = { ...inherited, ...fresh.env, PORT: String(port), HOST: '127.0.0.1', WATCHFLOOR_DEMO: 'off', LOG_LEVEL: 'warn', INGEST_RATE_LIMIT: '1000000' };
  const server = spawn(process.execPath, [...nodeArgs, path.join(checkout, 'server', 'index.ts')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (let i = 0; ; i++) {
      if (i === 300) throw new Error(`${checkout}: the server did not become ready`);
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const added = spawnSync(process.execPath, [path.join(checkout, 'server', 'cli.ts'), 'source', 'add', '--name', 'bench', '--format', 'alertmanager', '--json'], { env, encoding: 'utf8' });
    if (added.status !== 0) throw new Error(`source add failed: ${added.stderr}`);
    const { token } = JSON.parse(added.stdout) as { token: string };
    await drive(token, 30);
    const [serverBefore, databaseBefore] = [cpuSeconds(server.pid!), await fresh.databaseCpu()];
    const rate = await drive(token, batches);
    const perSignal = (seconds: number) => Math.round((seconds * 1e6) / (batches * 500));
    return { rate, serverMicros: perSignal(cpuSeconds(server.pid!) - serverBefore), databaseMicros: perSignal((await fresh.databaseCpu()) - databaseBefore) };
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await fresh.cleanup();
  }
}

const runs = new Map(checkouts.map((checkout) => [checkout, [] as RunResult[]]));
for (let round = 0; round < rounds; round++) {
  for (const checkout of round % 2 ? [...checkouts].reverse() : checkouts) runs.get(checkout)!.push(await run(checkout));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const column = (checkout: string, key: keyof RunResult) => runs.get(checkout)!.map((r) => Math.round(r[key]));
console.log(JSON.stringify({ bench: 'ingest-compare', database, rounds, batches, senders: maxSenders, runs: Object.fromEntries(runs) }, null, 2));
console.log('\n| checkout | signals/s, median (all runs) | server CPU µs/signal | Postgres CPU µs/signal |\n| --- | ---: | ---: | ---: |');
const cell = (values: number[]) => `${median(values).toLocaleString('en')} (${values.map((v) => v.toLocaleString('en')).join(', ')})`;
for (const checkout of checkouts) {
  const databaseCell = database === 'pglite' ? 'in the server' : cell(column(checkout, 'databaseMicros'));
  console.log(`| ${checkout} | ${cell(column(checkout, 'rate'))} | ${cell(column(checkout, 'serverMicros'))} | ${databaseCell} |`);
}
