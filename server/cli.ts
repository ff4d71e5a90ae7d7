#!/usr/bin/env node
/**
 * The operators' CLI (`npm run cli -- …` or `watchfloor …`). On embedded PGlite it hands its command
 * to a running server through the admin socket, and opens the data folder itself only when no server
 * runs: the folder is never opened twice.
 */
import { loadConfig, ConfigError } from './config.ts';
import { openDatabase } from './db/database.ts';
import { DataFolderInUseError } from './db/data-lock.ts';
import { prepareCommand, runPrepared, USAGE, type CommandResult } from './cli/commands.ts';
import { sendToAdminSocket } from './cli/admin-socket.ts';
import { topologyImportInput } from './topology/topology-cli.ts';
import { announceRevocation } from './realtime/socket-revocations.ts';
import { announceScreenNews } from './realtime/screen-news.ts';
import { openSecretKeys } from './auth/secret-key.ts';

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
  // A topology file is read here, so a server behind the admin socket gets its content, not a path.
  const stdin = argv.includes('--password-stdin') ? await readStdin() : await topologyImportInput(argv, readStdin);
  // Wrong arguments are told before any database is opened.
  const prepared = prepareCommand(argv, stdin);
  if (typeof prepared !== 'function') return prepared;
  if (!config.databaseUrl) {
    const viaServer = await sendToAdminSocket(config.dataDir, { argv, stdin });
    if (viaServer) return viaServer;
  }
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    // A fresh folder or database has no tables yet: every command but `db …` needs the schema the
    // server would have created on its first start (on Postgres the migrator takes an advisory lock).
    if (argv[0] !== 'db') await database.migrate();
    // Servers on the same Postgres end the sockets of the sessions a command ended and redraw the maps of the
    // clients it changed (no-ops on PGlite: no server runs). A changed source tells them itself, in its transaction.
    return await runPrepared(argv, prepared, database, {
      userRevoked: (userId) => announceRevocation(database, { userId, reason: 'revoked' }),
      topologyChanged: (clients) => announceScreenNews(database, 'cli', { kind: 'topology:changed', clients }),
      // Only `secrets …` commands read the keys; no other command needs them.
      secretsSetup: (options) => openSecretKeys(config, options),
    });
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
    // A failed query's message carries its SQL and parameters (password hashes among them): say only why it failed.
    const cause = (error as { cause?: unknown }).cause;
    const reason = cause instanceof Error ? cause.message : String((error as Error).message).split('\n')[0];
    process.stderr.write(`watchfloor: ${reason}\n`);
    process.exitCode = 1;
  }
}
