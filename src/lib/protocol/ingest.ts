/**
 * Validation schemas for inbound webhook bodies (zod 4). They run at the edge: below it
 * the normalisers trust these types. Limits are here to stop abuse by anyone who can
 * reach a webhook, not to mirror each vendor's own limits exactly.
 */
import { z } from 'zod';
import { SEVERITIES } from '../domain/severity.ts';

/** Longest label or annotation key. */
export const MAX_KEY_LENGTH = 256;
/** Longest label or annotation value, and longest free-text field (16 KiB). */
export const MAX_VALUE_LENGTH = 16 * 1024;
/** Most labels (or annotations) on one alert. */
export const MAX_LABELS = 256;
/** Most alerts / signals in one webhook body. */
export const MAX_ALERTS = 10_000;
/** Most links or images on one event. */
export const MAX_LINKS = 100;

const text = z.string().max(MAX_VALUE_LENGTH);

/**
 * RFC 3339 date-time with a zone. Wider than `z.iso.datetime` on purpose: PagerDuty's
 * own examples write offsets without a colon (`+0000`), and Alertmanager sends
 * nanoseconds.
 */
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
export const isoDateTime = z
  .string()
  .max(64)
  .regex(ISO_DATETIME, { error: 'Invalid ISO 8601 date-time (with zone)' })
  .refine((s) => !Number.isNaN(Date.parse(s)) && isCalendarDay(s), { error: 'Invalid date-time' });

/**
 * Date.parse rolls impossible days over (`2025-02-30` becomes 2 March), so a day that does not
 * exist in its month would be stored as another date: refuse it instead.
 */
function isCalendarDay(s: string): boolean {
  const year = Number(s.slice(0, 4));
  const month = Number(s.slice(5, 7));
  const day = Number(s.slice(8, 10));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return days !== undefined && day >= 1 && day <= days;
}

/** label/annotation map with key, value and size limits */
export const stringMap = z
  .record(z.string().min(1).max(MAX_KEY_LENGTH), text)
  .refine((m) => Object.keys(m).length <= MAX_LABELS, { error: `At most ${MAX_LABELS} entries` });

const alertStatus = z.enum(['firing', 'resolved']);

const linkSchema = z.object({ href: text, text: text.optional() });

// ── Prometheus Alertmanager, webhook version 4 ─────────────────────────────────────────

const alertmanagerAlertShape = {
  status: alertStatus,
  labels: stringMap,
  annotations: stringMap,
  startsAt: isoDateTime,
  /** `0001-01-01T00:00:00Z` (Go's zero time) means still open. */
  endsAt: isoDateTime,
  generatorURL: text.optional(),
  fingerprint: z.string().max(MAX_KEY_LENGTH).optional(),
};

const alertmanagerGroupShape = {
  groupKey: text,
  truncatedAlerts: z.number().int().nonnegative().optional().default(0),
  status: alertStatus,
  receiver: text,
  groupLabels: stringMap,
  commonLabels: stringMap,
  commonAnnotations: stringMap,
  externalURL: text,
};

/** Prometheus Alertmanager webhook body, `version: "4"`. Labels may lack `alertname`. */
export const alertmanagerPayload = z.object({
  version: z.literal('4'),
  ...alertmanagerGroupShape,
  alerts: z.array(z.object(alertmanagerAlertShape)).min(1).max(MAX_ALERTS),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;
export type AlertmanagerAlert = AlertmanagerPayload['alerts'][number];

// ── Grafana unified alerting, webhook version 1 ─────────────────────────────────────────

/** Grafana webhook body (unified alerting), `version: "1"`: Alertmanager's plus extras. */
export const grafanaPayload = z.object({
  version: z.literal('1'),
  ...alertmanagerGroupShape,
  orgId: z.number().int(),
  title: text,
  state: text,
  message: text,
  alerts: z
    .array(
      z.object({
        ...alertmanagerAlertShape,
        silenceURL: text.optional(),
        dashboardURL: text.optional(),
        panelURL: text.optional(),
        // Go marshals a nil map as null
        values: z.record(z.string().max(MAX_KEY_LENGTH), z.number().nullable()).nullable().optional(),
        valueString: text.optional(),
        imageURL: text.optional(),
      }),
    )
    .min(1)
    .max(MAX_ALERTS),
});
export type GrafanaPayload = z.infer<typeof grafanaPayload>;
export type GrafanaAlert = GrafanaPayload['alerts'][number];

// ── PagerDuty Events API v2 ─────────────────────────────────────────────────────────────

export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

/** PagerDuty Events API v2 event (`POST /v2/enqueue` body). */
export const pagerdutyEvent = z
  .object({
    routing_key: z.string().min(1).max(200),
    event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
    dedup_key: z.string().min(1).max(255).optional(),
    payload: z
      .object({
        summary: z.string().min(1).max(1024),
        source: z.string().min(1).max(255),
        severity: z.enum(PAGERDUTY_SEVERITIES),
        timestamp: isoDateTime.optional(),
        component: text.optional(),
        group: text.optional(),
        class: text.optional(),
        custom_details: z.json().optional(),
      })
      .optional(),
    links: z.array(linkSchema).max(MAX_LINKS).optional(),
    images: z
      .array(z.object({ src: text, href: text.optional(), alt: text.optional() }))
      .max(MAX_LINKS)
      .optional(),
    client: text.optional(),
    client_url: text.optional(),
  })
  .superRefine((event, ctx) => {
    if (event.event_action !== 'trigger' && event.dedup_key === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dedup_key'],
        message: `dedup_key is required for ${event.event_action}`,
      });
    }
    if (event.event_action === 'trigger' && event.payload === undefined) {
      ctx.addIssue({ code: 'custom', path: ['payload'], message: 'payload is required for trigger' });
    }
  });
export type PagerdutyEvent = z.infer<typeof pagerdutyEvent>;

// ── Watchfloor generic JSON ─────────────────────────────────────────────────────────────

/**
 * Watchfloor's own webhook format, for scripts and tools without a native integration.
 *
 * - `fingerprint`: dedup key, unique per source (default: hash of sorted labels + summary).
 * - `status`: `firing` or `resolved`; a resolved signal for an unknown fingerprint is ignored.
 * - `severity`: `critical` (P1), `high` (P2), `warning` (P3), `info` (P4).
 * - `startsAt` defaults to the time received; `endsAt` is null/absent while firing.
 * - `client` / `node` override the source's label mapping.
 * - `links`: only `http:` and `https:` links are kept.
 *
 * @example
 * ```json
 * {
 *   "signals": [
 *     {
 *       "fingerprint": "acme-core-sw-01-bgp",
 *       "status": "firing",
 *       "severity": "critical",
 *       "summary": "BGP session to 203.0.113.1 down on core-sw-01",
 *       "labels": { "alertname": "BGPSessionDown", "client": "acme", "instance": "core-sw-01" },
 *       "annotations": { "description": "Peer AS64500 idle for 3 minutes" },
 *       "startsAt": "2025-03-01T08:15:00Z",
 *       "endsAt": null,
 *       "client": "acme",
 *       "node": "core-sw-01",
 *       "links": [{ "href": "https://nms.acme.example/devices/core-sw-01", "text": "NMS" }]
 *     }
 *   ]
 * }
 * ```
 */
export const genericPayload = z.object({
  signals: z
    .array(
      z.object({
        fingerprint: z.string().min(1).max(255).optional(),
        status: alertStatus,
        severity: z.enum(SEVERITIES),
        summary: z.string().min(1).max(1024),
        labels: stringMap.optional(),
        annotations: stringMap.optional(),
        startsAt: isoDateTime.optional(),
        endsAt: isoDateTime.nullable().optional(),
        client: z.string().min(1).max(255).optional(),
        node: z.string().min(1).max(255).optional(),
        links: z.array(linkSchema).max(MAX_LINKS).optional(),
      }),
    )
    .min(1)
    .max(MAX_ALERTS),
});
export type GenericPayload = z.infer<typeof genericPayload>;
export type GenericSignal = GenericPayload['signals'][number];
