/** PagerDuty Events API v2 → Signals. */
import type { Severity } from '../../src/lib/domain/severity.ts';
import type { PagerdutyEvent } from '../../src/lib/protocol/ingest.ts';
import { MAX_KEY_LENGTH, MAX_LABELS } from '../../src/lib/protocol/ingest.ts';
import type { Signal, SourceMapping } from '../engine/types.ts';
import { keepHttpLinks, nonEmpty, stableHash, truncateText } from './generic.ts';

const SEVERITY: Readonly<Record<NonNullable<PagerdutyEvent['payload']>['severity'], Severity>> = {
  critical: 'critical',
  error: 'high',
  warning: 'warning',
  info: 'info',
};

/**
 * The dedup key an event acts on: its own `dedup_key`, else (a trigger without one) a
 * stable hash of routing key, summary and source, so a re-sent trigger dedups. The
 * webhook answers with this key, as PagerDuty does.
 */
export function pagerdutyDedupKey(event: PagerdutyEvent): string {
  return event.dedup_key ?? stableHash([event.routing_key, event.payload?.summary ?? '', event.payload?.source ?? '']);
}

type Json = Exclude<NonNullable<PagerdutyEvent['payload']>['custom_details'], undefined>;

function isJsonObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** custom_details → string annotations; nested values become JSON text, all capped. */
function flattenDetails(details: Json | undefined): Record<string, string> {
  if (details === undefined || details === null) return {};
  const asText = (v: Json): string => truncateText(typeof v === 'string' ? v : JSON.stringify(v));
  if (!isJsonObject(details)) return { details: asText(details) };
  const out: Record<string, string> = {};
  let n = 0;
  for (const [key, value] of Object.entries(details)) {
    if (n >= MAX_LABELS) break;
    if (key === '' || key.length > MAX_KEY_LENGTH) continue;
    out[key] = asText(value);
    n++;
  }
  return out;
}

/**
 * Normalises one validated PagerDuty event into a single Signal.
 *
 * `acknowledge` and `resolve` act on the alert with the same dedup key (the engine ignores
 * unknown keys). Labels are `source`, `component`, `group`, `class`; annotations are the
 * flattened `custom_details`. Client comes from `custom_details[clientLabel]`, node from
 * `custom_details[nodeLabel]`, else `payload.source`.
 */
export function normalisePagerduty(event: PagerdutyEvent, mapping: SourceMapping, receivedAt: Date): Signal[] {
  const fingerprint = pagerdutyDedupKey(event);
  const p = event.payload;
  const labels: Record<string, string> = {};
  if (p !== undefined) {
    labels.source = p.source;
    if (p.component !== undefined) labels.component = p.component;
    if (p.group !== undefined) labels.group = p.group;
    if (p.class !== undefined) labels.class = p.class;
  }
  const details = p?.custom_details;
  const detailsObject = isJsonObject(details) ? details : {};
  const detailText = (key: string): string | undefined => {
    const v = Object.hasOwn(detailsObject, key) ? detailsObject[key] : undefined;
    return typeof v === 'string' ? nonEmpty(v) : undefined;
  };
  const resolving = event.event_action === 'resolve';
  return [
    {
      fingerprint,
      status: resolving ? 'resolved' : 'firing',
      action: event.event_action,
      // acknowledge/resolve may come without payload: the engine does not take
      // severity or summary from those actions
      severity: p !== undefined ? SEVERITY[p.severity] : 'warning',
      summary: p?.summary ?? fingerprint,
      labels,
      annotations: flattenDetails(details),
      links: keepHttpLinks([
        ...(event.links ?? []),
        { href: event.client_url, text: nonEmpty(event.client) ?? 'Source' },
      ]),
      startsAt: p?.timestamp !== undefined ? new Date(p.timestamp) : receivedAt,
      endsAt: resolving ? receivedAt : null,
      client: detailText(mapping.clientLabel) ?? mapping.defaultClient,
      node: detailText(mapping.nodeLabel) ?? p?.source ?? null,
      groupKey: null,
    },
  ];
}
