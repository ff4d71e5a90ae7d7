/** Pieces every benchmark needs: a server in a child process, the CLI, percentiles. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const root = path.join(import.meta.dirname, '..', '..');

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
