import { z } from 'zod';
import { UPTIME_RANGES, type UptimeRange } from './walls.ts';

export const uptimeQuery = z
  .object({
    range: z.enum(UPTIME_RANGES).default('7d'),
    /** Only this client (within the caller's). */
    client: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).optional(),
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
  /** Start of the first bucket (ISO, UTC). */
  from: string;
  bucketSeconds: number;
  buckets: number;
  generatedAt: string;
  clients: UptimeClientDto[];
  /** Nodes grouped by client (in the order of `clients`), then by name. */
  rows: UptimeRowDto[];
}
