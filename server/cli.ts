#!/usr/bin/env node
/**
 * The operators' CLI (`npm run cli -- …` or `watchfloor …`). On embedded PGlite it hands its command
 * to a running server through the admin socket, and opens the data folder itself only when no server
 * runs: the folder is never opened twice.
 */
import { loadConfig, ConfigError } from './config.ts';
import { openDatabase } from './db/database.ts';
import { DataFolderInUseError } from './db/data-lock.ts';
import { runCommand, USAGE, type CommandResult } from './cli/commands.ts';
import { sendToAdminSocket } from './cli/admin-socket.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function execute(argv: string[]): Promise<CommandResult> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    return { code: argv.length === 0 ? 2 : 0, stdout: argv.length ? USAGE + '\n' : '', stderr: argv.length ? '' : USAGE + '\n' };
  }
  const config = loadConfig();
  const stdin = argv.includes('--password-stdin') ? await readStdin() : null;
  if (!config.databaseUrl) {
    const viaServer = await sendToAdminSocket(config.dataDir, { argv, stdin });
    if (viaServer) return viaServer;
  }
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await runCommand(database, argv, stdin);
  } finally {
    await database.close();
  }
}

try {
  const result = await execute(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
} catch (error) {
  if (error instanceof ConfigError || error instanceof DataFolderInUseError) {
    process.stderr.write(`watchfloor: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`watchfloor: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
