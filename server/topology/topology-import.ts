/**
 * Reading a topology file (JSON or CSV) into one document, with every problem tied to its line.
 * Pure: text in, document or problems out. Checking names against the database and applying the
 * document happen in topology-store.ts.
 */
import { findNodeAtLocation, getNodeValue, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { parse as parseCsv } from 'csv-parse/sync';
import type { z } from 'zod';
import {
  topologyClient,
  topologyDocument,
  topologyLink,
  topologyNode,
  topologySite,
  type TopologyDocument,
} from '../../src/lib/protocol/topology.ts';

export type Section = 'clients' | 'sites' | 'nodes' | 'links';

/** One thing wrong with a file: where (line, and the field), and what. */
export interface ImportProblem {
  line: number | null;
  where: string;
  message: string;
}

/** A parsed document and the line each record starts on. */
export interface ParsedTopology {
  document: TopologyDocument;
  lineOf: (section: Section, index: number) => number | null;
}

/** More problems than this are summarised: nobody reads the 5,000th. */
export const MAX_PROBLEMS = 50;

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** JSON: the document format of src/lib/protocol/topology.ts. */
export function parseTopologyJson(text: string): ParsedTopology | { problems: ImportProblem[] } {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length > 0 || tree === undefined) {
    return {
      problems: errors.length
        ? errors.slice(0, MAX_PROBLEMS).map((e) => ({ line: lineAt(text, e.offset), where: '', message: `not valid JSON (${printParseErrorCode(e.error)})` }))
        : [{ line: 1, where: '', message: 'not valid JSON (the file is empty)' }],
    };
  }
  const value: unknown = getNodeValue(tree);
  const result = topologyDocument.safeParse(value);
  if (!result.success) {
    return {
      problems: result.error.issues.slice(0, MAX_PROBLEMS).map((issue) => {
        // The deepest node that exists: a missing field points at its record.
        let path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        let node = findNodeAtLocation(tree, path);
        while (node === undefined && path.length > 0) {
          path = path.slice(0, -1);
          node = findNodeAtLocation(tree, path);
        }
        return { line: node ? lineAt(text, node.offset) : null, where: pathText(issue.path), message: issue.message };
      }),
    };
  }
  return {
    document: result.data,
    lineOf: (section, index) => {
      const node = findNodeAtLocation(tree, [section, index]);
      return node ? lineAt(text, node.offset) : null;
    },
  };
}

/** The CSV columns; a record uses those its kind needs and leaves the rest empty. */
export const CSV_COLUMNS = [
  'record',
  'client',
  'name',
  'site',
  'kind',
  'parent',
  'from',
  'to',
  'capacity_mbps',
  'utilisation',
  'timezone',
  'uptime_target',
  'location',
  'x',
  'y',
  'labels',
] as const;

type CsvRow = Partial<Record<(typeof CSV_COLUMNS)[number], string>>;

const RECORD_SECTION: Record<string, Section> = { client: 'clients', site: 'sites', node: 'nodes', link: 'links' };
const COLUMN_OF: Record<string, string> = { slug: 'client', capacityMbps: 'capacity_mbps', uptimeTarget: 'uptime_target' };

function number(value: string | undefined): number | string | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : value; // left as text, the schema names the column
}

/** `role=web;rack=R12` → { role: 'web', rack: 'R12' }. */
function labels(value: string | undefined): Record<string, string> | string | undefined {
  if (value === undefined || value === '') return undefined;
  const out: Record<string, string> = {};
  for (const pair of value.split(';')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return value;
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function recordOf(kind: Section, row: CsvRow): Record<string, unknown> {
  const present = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
  switch (kind) {
    case 'clients':
      return present({ slug: row.client, name: row.name, timezone: row.timezone, uptimeTarget: number(row.uptime_target) });
    case 'sites':
      return present({ client: row.client, name: row.name, location: row.location });
    case 'nodes':
      return present({ client: row.client, name: row.name, site: row.site, kind: row.kind, parent: row.parent, labels: labels(row.labels), x: number(row.x), y: number(row.y) });
    case 'links':
      return present({ client: row.client, from: row.from, to: row.to, capacityMbps: number(row.capacity_mbps), utilisation: number(row.utilisation) });
  }
}

const SCHEMA: Record<Section, z.ZodType> = { clients: topologyClient, sites: topologySite, nodes: topologyNode, links: topologyLink };

/** CSV: a header row naming (some of) {@link CSV_COLUMNS}, then one row per client, site, node or link. */
export function parseTopologyCsv(text: string): ParsedTopology | { problems: ImportProblem[] } {
  let rows: { record: CsvRow; info: { lines: number } }[];
  try {
    rows = parseCsv(text, { columns: true, info: true, skip_empty_lines: true, trim: true, bom: true, comment: '#' });
  } catch (error) {
    const e = error as { message: string; lines?: number };
    return { problems: [{ line: e.lines ?? null, where: '', message: `not valid CSV: ${e.message.replace(/^Invalid Record Length: /, '')}` }] };
  }
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
  const columns = header.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const unknown = columns.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (!columns.includes('record')) return { problems: [{ line: 1, where: 'header', message: `the first row must name the columns, starting with "record" (columns: ${CSV_COLUMNS.join(', ')})` }] };
  if (unknown.length) return { problems: [{ line: 1, where: 'header', message: `unknown column ${unknown.map((c) => JSON.stringify(c)).join(', ')} (known: ${CSV_COLUMNS.join(', ')})` }] };

  const document: Required<TopologyDocument> = { clients: [], sites: [], nodes: [], links: [] };
  const lines: Record<Section, number[]> = { clients: [], sites: [], nodes: [], links: [] };
  const problems: ImportProblem[] = [];
  for (const { record: row, info } of rows) {
    // info.lines is where the record ends; a quoted value may span lines.
    const line = info.lines - Object.values(row).reduce((n, v) => n + (v?.split('\n').length ?? 1) - 1, 0);
    const section = RECORD_SECTION[(row.record ?? '').toLowerCase()];
    if (!section) {
      problems.push({ line, where: 'record', message: `must be client, site, node or link (got ${JSON.stringify(row.record ?? '')})` });
      continue;
    }
    const parsed = SCHEMA[section].safeParse(recordOf(section, row));
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = issue.path[0] === undefined ? '' : String(issue.path[0]);
        problems.push({ line, where: COLUMN_OF[field] ?? field, message: issue.message });
      }
      continue;
    }
    (document[section] as unknown[]).push(parsed.data);
    lines[section].push(line);
  }
  if (problems.length) return { problems: problems.slice(0, MAX_PROBLEMS) };
  return { document, lineOf: (section, index) => lines[section][index] ?? null };
}

/** Reads a file by its name's ending (.json or .csv). */
export function parseTopologyFile(text: string, format: 'json' | 'csv'): ParsedTopology | { problems: ImportProblem[] } {
  return format === 'json' ? parseTopologyJson(text) : parseTopologyCsv(text);
}

/** Problems as people read them: `line 12 (nodes[3].site): unknown site "Foo"`. */
export function formatProblems(problems: ImportProblem[], total = problems.length): string {
  const lines = problems.map((p) => `${p.line === null ? '' : `line ${p.line}`}${p.where ? `${p.line === null ? '' : ' '}(${p.where})` : ''}: ${p.message}`);
  if (total > problems.length) lines.push(`… and ${total - problems.length} more`);
  return lines.join('\n');
}
