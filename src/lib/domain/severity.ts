/**
 * The one severity scale used everywhere in Watchfloor (server, wall, console, phone).
 *
 * | severity   | priority | words recognised by {@link severityFromText} (case-insensitive)                 |
 * | ---------- | -------- | ------------------------------------------------------------------------------- |
 * | `critical` | P1       | critical, crit, fatal, emergency, emerg, alert, disaster, p1, page              |
 * | `high`     | P2       | high, error, err, major, p2                                                     |
 * | `warning`  | P3       | warning, warn, average, minor, p3 — and anything unknown or missing             |
 * | `info`     | P4       | info, informational, information, notice, low, none, ok, debug, p4, p5          |
 */

/** All severities, most severe first. */
export const SEVERITIES = ['critical', 'high', 'warning', 'info'] as const;

export type Severity = (typeof SEVERITIES)[number];

export type Priority = 'P1' | 'P2' | 'P3' | 'P4';

/** Severity → priority label shown to people. */
export const SEVERITY_PRIORITY: Readonly<Record<Severity, Priority>> = {
  critical: 'P1',
  high: 'P2',
  warning: 'P3',
  info: 'P4',
};

/** Words (lower case) that {@link severityFromText} understands, per severity. */
export const SEVERITY_WORDS: Readonly<Record<Severity, readonly string[]>> = {
  critical: ['critical', 'crit', 'fatal', 'emergency', 'emerg', 'alert', 'disaster', 'p1', 'page'],
  high: ['high', 'error', 'err', 'major', 'p2'],
  warning: ['warning', 'warn', 'average', 'minor', 'p3'],
  info: ['info', 'informational', 'information', 'notice', 'low', 'none', 'ok', 'debug', 'p4', 'p5'],
};

/** The mapping as a markdown table, for docs and the settings page. */
export const SEVERITY_TABLE_MARKDOWN: string = [
  '| severity | priority | source words |',
  '| --- | --- | --- |',
  ...SEVERITIES.map(
    (s) =>
      `| ${s} | ${SEVERITY_PRIORITY[s]} | ${SEVERITY_WORDS[s].join(', ')}${s === 'warning' ? ', (unknown or missing)' : ''} |`,
  ),
].join('\n');

const RANK: Readonly<Record<Severity, number>> = { critical: 4, high: 3, warning: 2, info: 1 };

const WORD_TO_SEVERITY: ReadonlyMap<string, Severity> = new Map(
  SEVERITIES.flatMap((s) => SEVERITY_WORDS[s].map((w) => [w, s] as const)),
);

/** True when `value` is one of {@link SEVERITIES}. */
export function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/** Numeric rank for sorting: critical = 4 (highest) … info = 1. */
export function severityRank(severity: Severity): number {
  return RANK[severity];
}

/** The P1–P4 priority label for a severity. */
export function severityPriority(severity: Severity): Priority {
  return SEVERITY_PRIORITY[severity];
}

/**
 * The most severe entry of `list`.
 * An empty list gives `'info'`, the neutral bottom of the scale.
 */
export function worstSeverity(list: Iterable<Severity>): Severity {
  let worst: Severity = 'info';
  for (const s of list) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/**
 * Maps a source's severity word (Alertmanager `severity` label, PagerDuty severity,
 * Zabbix/syslog levels, P1–P5) onto the scale. Unknown or missing text gives
 * `'warning'`: loud enough to be seen, not loud enough to page at night.
 */
export function severityFromText(text: string | undefined): Severity {
  if (text === undefined) return 'warning';
  return WORD_TO_SEVERITY.get(text.trim().toLowerCase()) ?? 'warning';
}
