import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../db/database.ts';
import { runCommand, type CommandHooks, type CommandResult } from './commands.ts';

/** The admin socket's path: beside the PGlite data, so whoever may read the data may run commands. */
export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, 'admin.sock');
}

/** One request per connection: a JSON line `{ argv, stdin }` in, a JSON line `CommandResult` out. */
export interface AdminRequest {
  argv: string[];
  stdin: string | null;
}

export interface AdminSocket {
  close(): Promise<void>;
}

const MAX_REQUEST = 64 * 1024;

/**
 * PGlite allows one process per data folder, so while the server runs, the CLI hands its commands
 * here. The socket file is created 0600 inside the data folder: its permissions are the credential.
 */
export async function startAdminSocket(
  dataDir: string,
  database: Database,
  log: FastifyBaseLogger,
  hooks: CommandHooks = {},
): Promise<AdminSocket> {
  const socketPath = adminSocketPath(dataDir);
  fs.rmSync(socketPath, { force: true }); // a leftover from a killed server (we hold the data lock)
  const server = net.createServer((connection) => {
    let buffer = '';
    connection.setEncoding('utf8');
    connection.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST) return connection.destroy();
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      void handle(buffer.slice(0, newline)).then((result) => connection.end(JSON.stringify(result) + '\n'));
    });
    connection.on('error', () => connection.destroy());
  });

  async function handle(line: string): Promise<CommandResult> {
    try {
      const request = JSON.parse(line) as AdminRequest;
      if (!Array.isArray(request.argv) || !request.argv.every((a) => typeof a === 'string')) {
        return { code: 2, stdout: '', stderr: 'watchfloor: malformed admin request\n' };
      }
      log.info({ command: request.argv.slice(0, 2).join(' ') }, 'admin socket command');
      return await runCommand(database, request.argv, typeof request.stdin === 'string' ? request.stdin : null, hooks);
    } catch (error) {
      log.error({ err: error }, 'admin socket command failed');
      return { code: 1, stdout: '', stderr: 'watchfloor: the command failed on the server; see its log\n' };
    }
  }

  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(socketPath, { force: true });
      }),
  };
}

/** Sends one command to a running server; null when no server is listening there. */
export function sendToAdminSocket(dataDir: string, request: AdminRequest): Promise<CommandResult | null> {
  const socketPath = adminSocketPath(dataDir);
  if (!fs.existsSync(socketPath)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const connection = net.createConnection(socketPath);
    let answer = '';
    connection.setEncoding('utf8');
    connection.on('connect', () => connection.write(JSON.stringify(request) + '\n'));
    connection.on('data', (chunk: string) => (answer += chunk));
    connection.on('end', () => {
      try {
        resolve(JSON.parse(answer) as CommandResult);
      } catch {
        reject(new Error('the server answered the admin socket with something unreadable'));
      }
    });
    connection.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(null); // stale socket file
      else reject(error);
    });
  });
}
