import { z } from 'zod';
import { SEVERITIES, type Severity } from '../domain/severity.ts';
import { isTimeZoneName } from '../domain/time-zone-name.ts';

/**
 * Web Push contract: REST DTOs and request schemas under /api/v1/push, and the payload the server
 * sends through the push service to the phone's service worker. Shared by the server, the app
 * and the service worker.
 */

const base64url = (what: string) => z.string().regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`);

/** Bytes of a base64url string (padding ignored), without decoding it. */
function base64urlBytes(value: string): number {
  const length = value.replace(/=+$/, '').length;
  return Math.floor((length * 3) / 4);
}

/** The browser's `PushSubscription.toJSON()`. */
export const pushSubscriptionRequest = z.object({
  endpoint: z.string().min(1).max(2048).url('must be a URL'),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    /** The browser's P-256 ECDH public key: 65 bytes, uncompressed point. */
    p256dh: base64url('p256dh').refine((v) => base64urlBytes(v) === 65, 'p256dh must be a 65-byte P-256 public key'),
    /** The browser's 16-byte authentication secret. */
    auth: base64url('auth').refine((v) => base64urlBytes(v) === 16, 'auth must be 16 bytes'),
  }),
});
export type PushSubscriptionRequest = z.infer<typeof pushSubscriptionRequest>;

export const deleteSubscriptionRequest = z.object({ endpoint: z.string().min(1).max(2048) });

/** A device of mine that receives pushes (its keys are never sent back). */
export interface PushSubscriptionDto {
  id: string;
  /** Origin of the push service, to tell devices apart ("fcm.googleapis.com"). */
  service: string;
  userAgent: string | null;
  createdAt: string;
  lastSuccessAt: string | null;
}

export interface PushPublicKeyResponse {
  /** The server's VAPID public key (base64url), the `applicationServerKey` of `pushManager.subscribe`. */
  publicKey: string;
}

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day HH:MM');

/** Who pages me and when: the least severity that pages me, and quiet hours in my time zone. */
export const pushSettingsRequest = z
  .object({
    minSeverity: z.enum(SEVERITIES),
    /** null: no quiet hours. The range may cross midnight (22:00–07:00). */
    quietHours: z.object({ start: clockTime, end: clockTime }).nullable(),
    /** An IANA name, never an offset (see isTimeZoneName): the quiet hours follow the zone's daylight saving time. */
    timezone: z.string().min(1).max(64).refine(isTimeZoneName, 'must be an IANA time zone name such as Europe/Berlin, not an offset'),
  })
  .strict()
  .refine((s) => s.quietHours === null || s.quietHours.start !== s.quietHours.end, {
    message: 'quiet hours must not start and end at the same time',
    path: ['quietHours', 'end'],
  });
export type PushSettings = z.infer<typeof pushSettingsRequest>;

export const DEFAULT_PUSH_SETTINGS: PushSettings = { minSeverity: 'high', quietHours: null, timezone: 'UTC' };

export interface PushTestResponse {
  /** Devices the push service accepted the test for. */
  delivered: number;
  failed: number;
  /** Devices removed because their push service said they are gone (404/410). */
  removed: number;
}

export const pushAcknowledgeRequest = z.object({ token: z.string().min(1).max(2048) });

/** The answer to a notification's Acknowledge: shown by the service worker in place of the page. */
export interface PushAcknowledgeResponse {
  result: 'acknowledged' | 'already_acknowledged_by_you';
  incidentId: string;
  number: number;
  /** For people: "Acknowledged by you". */
  message: string;
}

/** How long a push-action token is valid: a page older than this must be acknowledged in the app. */
export const PUSH_ACTION_TOKEN_TTL_SECONDS = 10 * 60;

/**
 * What the phone receives (encrypted end to end with the device's keys). Only what the notification
 * shows and its two actions need: no labels, no alert text beyond the summary.
 */
export type PushPayload =
  | {
      v: 1;
      kind: 'page';
      incidentId: string;
      number: number;
      severity: Severity;
      title: string;
      body: string;
      /** One notification per incident: a later page replaces the earlier one. */
      tag: string;
      /** Opened by a tap on the notification body. */
      url: string;
      /** Single-use, short-lived: POSTed to /api/v1/push/actions/acknowledge by the Acknowledge action. */
      ackToken: string;
      sentAt: string;
    }
  | { v: 1; kind: 'test'; title: string; body: string; tag: string; url: string; sentAt: string };

/** The notification tag of an incident. */
export const incidentTag = (incidentId: string) => `incident-${incidentId}`;
/** Where a tap on a page leads. */
export const phoneIncidentPath = (incidentId: string) => `/m/incident/${incidentId}`;
