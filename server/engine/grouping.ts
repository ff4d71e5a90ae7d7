/** Which incident an alert belongs to. */
import type { Signal, SourceMapping } from './types.ts';

// '|' separates parts, so escape it (and the escape char) to keep keys collision-free
function part(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('|', '\\|');
}

/**
 * The grouping key of a signal: always the client first (incidents never span clients),
 * then either the values of `mapping.groupBy` labels in order (missing label = empty), or
 * by default the format's explicit group key, else `alertname`, else PagerDuty's `class`,
 * else the summary. Example: `acme|HighCPU`. Deterministic: same input, same key.
 */
export function groupKeyFor(
  signal: Pick<Signal, 'client' | 'labels' | 'summary' | 'groupKey'>,
  mapping: Pick<SourceMapping, 'groupBy'>,
): string {
  const client = part(signal.client ?? '');
  if (mapping.groupBy.length > 0) {
    return [client, ...mapping.groupBy.map((name) => part(Object.hasOwn(signal.labels, name) ? (signal.labels[name] ?? '') : ''))].join('|');
  }
  // || on purpose: an empty label means unset
  const name = signal.groupKey || signal.labels.alertname || signal.labels.class || signal.summary;
  return `${client}|${part(name)}`;
}
