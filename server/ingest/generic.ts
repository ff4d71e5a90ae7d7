/**
 * Watchfloor's own generic JSON format → Signals. Also home of the small helpers every
 * ingest format shares (stable hashing, link filtering, time parsing).
 */
import { createHash } from 'node:crypto';
import type { GenericPayload } from '../../src/lib/protocol/ingest.ts';
import { MAX_VALUE_LENGTH } from '../../src/lib/protocol/ingest.ts';
import type { Link, Signal, SourceMapping } from '../engine/types.ts';

/**
 * A stable 32-hex-character id (first 16 bytes of SHA-256) for any JSON-able value.
 * Callers pass arrays, not objects, so key order cannot change the result.
 */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
}

/** Label entries sorted by key (code-unit order, never locale-dependent). */
export function sortedEntries(labels: Record<string, string>): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Keeps only links whose href parses as an absolute `http:` or `https:` URL (alert text is
 * untrusted: `javascript:` and friends must never reach a page). Drops duplicates and
 * falls back to the href as text.
 */
export function keepHttpLinks(candidates: Iterable<{ href: string | undefined; text?: string | undefined }>): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const { href, text } of candidates) {
    if (href === undefined || href === '') continue;
    let url: URL;
    try {
      url = new URL(href);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    links.push({ href: url.href, text: text !== undefined && text !== '' ? text : url.href });
  }
  return links;
}

/**
 * Parses a validated ISO date-time. Go's zero time (year 1, Alertmanager's "not set")
 * and unparsable text give null.
 */
export function parseSourceTime(value: string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() <= 1) return null;
  return date;
}

/** Cuts text to `max` UTF-16 units without leaving half a surrogate pair. */
export function truncateText(value: string, max: number = MAX_VALUE_LENGTH): string {
  if (value.length <= max) return value;
  const code = value.charCodeAt(max - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** An own property of a label map (never something inherited like `constructor`). */
export function ownLabel(labels: Record<string, string>, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

/** The value if it is a non-empty string, else undefined (empty labels mean "unset"). */
export function nonEmpty(value: string | undefined | null): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Normalises a validated generic payload.
 *
 * Fingerprint defaults to a hash of the sorted labels plus the summary; client and node
 * come from the explicit fields, then the mapped labels, then the source's default client.
 */
export function normaliseGeneric(payload: GenericPayload, mapping: SourceMapping, receivedAt: Date): Signal[] {
  return payload.signals.map((s): Signal => {
    const labels = s.labels ?? {};
    return {
      fingerprint: s.fingerprint ?? stableHash([sortedEntries(labels), s.summary]),
      status: s.status,
      action: s.status === 'firing' ? 'trigger' : 'resolve',
      severity: s.severity,
      summary: s.summary,
      labels,
      annotations: s.annotations ?? {},
      links: keepHttpLinks(s.links ?? []),
      startsAt: parseSourceTime(s.startsAt) ?? receivedAt,
      endsAt: parseSourceTime(s.endsAt),
      client: nonEmpty(s.client) ?? nonEmpty(ownLabel(labels, mapping.clientLabel)) ?? mapping.defaultClient,
      node: nonEmpty(s.node) ?? nonEmpty(ownLabel(labels, mapping.nodeLabel)) ?? null,
      groupKey: null,
    };
  });
}
