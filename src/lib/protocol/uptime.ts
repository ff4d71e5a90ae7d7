import { z } from 'zod';
import { UPTIME_RANGES, type UptimeRange, timeZoneName } from './walls.ts';

export const uptimeQuery = z
  .object({
    range: z.enum(UPTIME_RANGES).default('7d'),
    /** Only this client (within the caller's). */
    client: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).optional(),
    /** Days in this zone instead of the server's (the wall editor's preview of a wall's own zone). */
    timeZone: timeZoneName.optional(),
  })
  .strict();

/** One heatmap row: availability (0–1) per bucket, oldest first. */
export interface UptimeRowDto {
  nodeId: string;
  name: string;
  client: string;
  /** Availability over the whole range. */
  availability: number;
  cells: number[];
}

/** Per client: the mean of its nodes per bucket, and the whole range against its target. */
export interface UptimeClientDto {
  slug: string;
  name: string;
  /** Target in percent, e.g. 99.9. */
  uptimeTarget: number;
  availability: number;
  cells: number[];
}

/** The heatmap: read from the hourly or daily roll-ups, never from raw incidents. */
export interface UptimeDto {
  range: UptimeRange;
  /** The IANA zone whose days the buckets (90d) and the day labels (both ranges) follow. */
  timeZone: string;
  /** Start of the first bucket (ISO, UTC). */
  from: string;
  /**
   * 3600: hours, all alike. 86400: local days in `timeZone`, each the hours whose start falls in it, so
   * 23 or 25 hours long across a DST change.
   */
  bucketSeconds: number;
  buckets: number;
  generatedAt: string;
  clients: UptimeClientDto[];
  /** Nodes grouped by client (in the order of `clients`), then by name. */
  rows: UptimeRowDto[];
}
