/** Pieces every benchmark needs: a server in a child process, the CLI, percentiles, the databases to run on. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';

export const root = path.join(import.meta.dirname, '..', '..');

/**
 * Webhooks in flight at once when a benchmark drives ingest as fast as the server answers (BENCH_SENDERS,
 * default 16). What a server sustains is only seen with enough in flight to keep it busy: with four batches of
 * 500, signals/s was 2,000 over a batch's round trip (~115 ms: ~17,000) while a third of the two cores stood
 * idle. A storm comes as many webhooks at once: Alertmanager sends each alert group's notification on its own,
 * and an MSP runs many Alertmanagers.
 */
export const maxSenders = Number(process.env.BENCH_SENDERS ?? 16);

/** The p-th percentile of `values` (sorted here; NaN when empty). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/** Runs `watchfloor … --json` and returns its stdout; throws with its stderr when it fails. */
export function cli(env: Record<string, string>, args: string[], stdin?: string): string {
  const result = spawnSync(process.execPath, [path.join(root, 'server', 'cli.ts'), ...args, '--json'], { env: { ...process.env, ...env }, input: stdin, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`cli ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** A server as `npm start` runs it, in its own process (so its CPU is not the benchmark's), once ready. */
export async function startServer(env: Record<string, string>, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, 'server', 'index.ts')], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', WATCHFLOOR_DEMO: 'off', LOG_LEVEL: 'warn', INGEST_RATE_LIMIT: '1000000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('server did not become ready');
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** A database a benchmark runs a server on: the server's environment, and how to remove it afterwards. */
export interface BenchTarget {
  name: 'pglite' | 'postgres';
  env: Record<string, string>;
  /** CPU seconds its Postgres backends have used so far (PGlite's are the server's own: 0). */
  databaseCpu: () => Promise<number>;
  cleanup: () => Promise<void>;
}

/**
 * Fresh databases for a benchmark, `databases` (default BENCH_DATABASES, else "pglite,postgres"): embedded PGlite
 * in a temporary folder, and — when BENCH_DATABASE_URL or TEST_DATABASE_URL is set — a new database on that Postgres.
 */
export async function benchTargets(folderPrefix: string, databases: readonly string[] = (process.env.BENCH_DATABASES ?? 'pglite,postgres').split(',')): Promise<BenchTarget[]> {
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  const list: BenchTarget[] = [];
  const dataFolder = () => fs.mkdtempSync(path.join(os.tmpdir(), folderPrefix));
  if (databases.includes('pglite')) {
    const dataDir = dataFolder();
    list.push({ name: 'pglite', env: { WATCHFLOOR_DATA: dataDir }, databaseCpu: async () => 0, cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }) });
  }
  if (pgUrl && databases.includes('postgres')) {
    const name = `wf_bench_${randomBytes(4).toString('hex')}`;
    const admin = postgres(pgUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const dataDir = dataFolder();
    list.push({
      name: 'postgres',
      env: { DATABASE_URL: url.toString(), WATCHFLOOR_DATA: dataDir },
      databaseCpu: async () => {
        const admin = postgres(pgUrl, { max: 1, onnotice: () => {} });
        const backends = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${name}`;
        await admin.end();
        return backends.reduce((sum, { pid }) => sum + (fs.existsSync(`/proc/${pid}`) ? cpuSeconds(pid) : 0), 0);
      },
      cleanup: async () => {
        fs.rmSync(dataDir, { recursive: true, force: true });
        const again = postgres(pgUrl, { max: 1, onnotice: () => {} });
        await again.unsafe(`drop database if exists ${name} with (force)`);
        await again.end();
      },
    });
  }
  return list;
}
