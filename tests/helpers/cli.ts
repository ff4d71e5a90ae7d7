/** The real CLI, run as an operator runs it: a child process with its own environment. */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.join(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'server', 'cli.ts');
/** Settings of the test process that would point the CLI elsewhere than the test means. */
const NOT_INHERITED = ['DATABASE_URL', 'WATCHFLOOR_DATA', 'WATCHFLOOR_SECRET_KEY', 'WATCHFLOOR_SECRET_KEY_PREVIOUS', 'PORT', 'LOG_LEVEL'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `watchfloor …args` with `env` on top of this process's environment (less NOT_INHERITED); `stdin` is sent and closed. */
export function runCli(args: string[], env: Record<string, string>, options: { stdin?: string; cwd?: string } = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !NOT_INHERITED.includes(key)));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
