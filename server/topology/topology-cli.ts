/**
 * `watchfloor topology import FILE.json|FILE.csv|-`: the file is read and checked in the CLI process
 * (line-numbered problems before any database is opened), then applied all-or-nothing, by the running
 * server when there is one (its screens update at once) or directly.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { Database } from '../db/database.ts';
import { DomainError } from '../errors.ts';
import type { ImportSummary } from '../../src/lib/protocol/topology.ts';
import { formatProblems, parseTopologyFile } from './topology-import.ts';
import { importTopology } from './topology-store.ts';
import { layoutStoredTopology } from './topology-service.ts';
import type { Renames } from '../incidents/renames.ts';

export interface ImportArgs {
  file: string;
  format: 'json' | 'csv';
  json: boolean;
}

/** The arguments, or what is wrong with them. */
export function parseImportArgs(args: string[]): ImportArgs | { usage: string } {
  let values: { format?: string; json?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args, options: { format: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true }));
  } catch (error) {
    return { usage: (error as Error).message };
  }
  if (positionals.length !== 1) return { usage: positionals.length === 0 ? 'topology import needs a file (.json or .csv, or - for stdin with --format)' : `one file at a time (got ${positionals.join(', ')})` };
  const file = positionals[0];
  const format = values.format ?? (/\.json$/i.test(file) ? 'json' : /\.csv$/i.test(file) ? 'csv' : undefined);
  if (format !== 'json' && format !== 'csv') {
    return { usage: values.format ? `--format must be json or csv (got ${values.format})` : `cannot tell the format of ${file}: name it .json or .csv, or pass --format json|csv` };
  }
  return { file, format, json: values.json ?? false };
}

/**
 * The file's content, read by the CLI process itself (so a server behind the admin socket receives the
 * content, not a path it might resolve elsewhere). null when it cannot be read: the command says why.
 */
export async function topologyImportInput(argv: string[], readStdin: () => Promise<string>): Promise<string | null> {
  if (argv[0] !== 'topology' || argv[1] !== 'import') return null;
  const args = parseImportArgs(argv.slice(2));
  if ('usage' in args) return null;
  if (args.file === '-') return readStdin();
  try {
    return fs.readFileSync(args.file, 'utf8');
  } catch {
    return null;
  }
}

/** What a running server does after an import: lay out and tell the screens of the `clients` it touched. */
export type TopologyImported = (clients: string[]) => Promise<void>;

/** The CLI alone on Postgres: tells the servers' screens that these clients' topology changed. */
export type TopologyChanged = (clients: string[]) => Promise<void>;

/** Checks the file (throws with every problem's line) and returns the step that applies it. */
export function prepareTopologyImport(
  args: ImportArgs,
  content: string | null,
): (database: Database, hooks: { renames: Renames; topologyImported?: TopologyImported; topologyChanged?: TopologyChanged }) => Promise<{ summary: ImportSummary; text: string }> {
  let text = content;
  if (text === null) {
    if (args.file === '-') throw new DomainError('validation_failed', 'nothing on stdin');
    try {
      text = fs.readFileSync(args.file, 'utf8');
    } catch (error) {
      throw new DomainError('validation_failed', `cannot read ${args.file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  }
  const parsed = parseTopologyFile(text, args.format);
  if ('problems' in parsed) throw new DomainError('validation_failed', `${args.file}: not imported (nothing was changed):\n${formatProblems(parsed.problems)}`);
  return async (database, { renames, topologyImported, topologyChanged }) => {
    // Renamed clients' open incidents are recorded anew with the import (see importTopology), through the running
    // server's writer or the CLI's own: servers on the same Postgres hear of those changes at commit.
    const result = await importTopology(database, renames, parsed);
    // A running server lays out the new nodes and tells its screens. Alone, the CLI lays them out itself, and
    // servers on the same Postgres are told to redraw the clients' maps.
    if (topologyImported) await topologyImported(result.clients);
    else {
      const laidOut = await layoutStoredTopology(database);
      await topologyChanged?.([...new Set([...result.clients, ...laidOut.clients])]);
    }
    const s = result.summary;
    const text = [
      `Imported ${args.file}:`,
      `  clients ${s.clients.created} new, ${s.clients.updated} updated`,
      `  sites   ${s.sites.created} new, ${s.sites.updated} updated`,
      `  nodes   ${s.nodes.created} new, ${s.nodes.updated} updated`,
      `  links   ${s.links.created} new, ${s.links.updated} updated`,
    ].join('\n');
    return { summary: s, text };
  };
}
