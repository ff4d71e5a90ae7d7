/**
 * What the server's log says about requests at the default level, read from the stdout of `node server/index.ts`
 * as `npm start` runs it: webhooks that are taken write nothing, refused ones write why.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { TEST_SECRET_KEY } from '../helpers/test-server.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const fixture = fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'alertmanager-v4.json'), 'utf8');

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  code?: string;
  req?: { url: string };
  res?: { statusCode: number };
}
const INFO = 30;

describe('request lines in the log at LOG_LEVEL=info', () => {
  let dataDir: string;
  let server: ChildProcessWithoutNullStreams;
  let stdout = '';
  let url: string;
  let token: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wf-request-log-'));
    const env = { WATCHFLOOR_DATA: dataDir, WATCHFLOOR_SECRET_KEY: TEST_SECRET_KEY };
    const added = await runCli(['source', 'add', '--name', 'prometheus', '--format', 'alertmanager', '--json'], env);
    expect(added.code, added.stderr).toBe(0);
    token = (JSON.parse(added.stdout) as { token: string }).token;

    const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !['DATABASE_URL', 'PORT', 'LOG_LEVEL'].includes(key)));
    server = spawn(process.execPath, [path.join(ROOT, 'server', 'index.ts')], {
      cwd: ROOT,
      env: { ...inherited, ...env, PORT: '0', HOST: '127.0.0.1', WATCHFLOOR_DEMO: 'off', LOG_LEVEL: 'info' },
    });
    server.stdout.setEncoding('utf8');
    url = await new Promise<string>((resolve, reject) => {
      server.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const running = /Watchfloor is running at (\S+)/.exec(stdout);
        if (running) resolve(running[1]);
      });
      server.on('exit', (code) => reject(new Error(`the server exited (${code}) before it was running`)));
    });
  });

  afterAll(async () => {
    if (server?.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes nothing for webhooks that are taken, and why for one that is refused', async () => {
    const post = (bearer: string) =>
      fetch(`${url}/api/v1/ingest/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: fixture });
    for (let i = 0; i < 3; i++) expect((await post(token)).status).toBe(200);
    const refused = await post('wfs_not-a-token');
    expect(refused.status).toBe(401);
    const refusedId = refused.headers.get('x-request-id');

    // Stopping flushes everything the server wrote.
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);

    expect(lines.filter((line) => line.msg === 'incoming request' || line.msg === 'request completed')).toEqual([]);
    const aboutRefused = lines.filter((line) => line.reqId === refusedId);
    expect(aboutRefused).toEqual([expect.objectContaining({ level: INFO, msg: 'request refused', code: 'unauthenticated', message: 'unknown source token' })]);
    // The server started and stopped with its usual lines: the log was read, not lost.
    expect(lines.some((line) => /listening/i.test(line.msg))).toBe(true);
    expect(stdout).not.toContain(token);
  });
});
