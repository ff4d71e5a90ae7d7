import { z } from 'zod';
import { isTimeZoneName } from '../domain/time-zone-name.ts';

/**
 * Walls: saved kiosk layouts. REST DTOs and request schemas under /api/v1/walls, shared by the server
 * (validation) and the app (types).
 */

/** What a panel on a wall shows. */
export const PANEL_KINDS = ['queue', 'map', 'heatmap'] as const;
export type PanelKind = (typeof PANEL_KINDS)[number];

/** The heatmap's two ranges: hours of the last 7 days, or days of the last 90. */
export const UPTIME_RANGES = ['7d', '90d'] as const;
export type UptimeRange = (typeof UPTIME_RANGES)[number];

/** An IANA time zone name such as Australia/Sydney (not an offset: see isTimeZoneName). */
export const timeZoneName = z.string().refine(isTimeZoneName, 'must be an IANA time zone name such as Australia/Sydney');

const clientSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a client slug (lowercase letters, digits, dashes)');

export const wallPanel = z
  .object({
    kind: z.enum(PANEL_KINDS),
    /** Grid cell of the top-left corner, counted from 0. */
    x: z.number().int().min(0).max(11),
    y: z.number().int().min(0).max(11),
    /** Size in grid cells. */
    w: z.number().int().min(1).max(12),
    h: z.number().int().min(1).max(12),
    /** Panel title shown on the wall; the kind's name when absent. */
    title: z.string().trim().max(60).optional(),
    /** heatmap: hours of 7 days or days of 90. */
    range: z.enum(UPTIME_RANGES).optional(),
    /** map and heatmap: only this client (must be one the wall covers). */
    client: clientSlug.optional(),
  })
  .strict();
export type WallPanel = z.infer<typeof wallPanel>;

export const wallPage = z
  .object({
    name: z.string().trim().min(1).max(60),
    /** How long the page stays up before the next one; ignored for a wall of one page. */
    dwellSeconds: z.number().int().min(5).max(3600),
    columns: z.number().int().min(1).max(12),
    rows: z.number().int().min(1).max(12),
    panels: z.array(wallPanel).min(1).max(12),
  })
  .strict()
  .superRefine((page, ctx) => {
    const taken = new Set<string>();
    page.panels.forEach((p, i) => {
      if (p.x + p.w > page.columns || p.y + p.h > page.rows) {
        ctx.addIssue({ code: 'custom', path: ['panels', i], message: `panel does not fit the ${page.columns}×${page.rows} grid` });
        return;
      }
      for (let x = p.x; x < p.x + p.w; x++)
        for (let y = p.y; y < p.y + p.h; y++) {
          const key = `${x},${y}`;
          if (taken.has(key)) {
            ctx.addIssue({ code: 'custom', path: ['panels', i], message: `panel overlaps another at column ${x + 1}, row ${y + 1}` });
            return;
          }
          taken.add(key);
        }
    });
  });
export type WallPage = z.infer<typeof wallPage>;

export const wallChime = z
  .object({
    /** Off by default: a wall that beeps is a wall someone unplugs. */
    enabled: z.boolean(),
    /** Chime again every N minutes while a critical stays unacknowledged (0 = only once). */
    repeatMinutes: z.number().int().min(0).max(120),
  })
  .strict();
export type WallChime = z.infer<typeof wallChime>;

export const createWallRequest = z
  .object({
    name: z.string().trim().min(1).max(100),
    /** Client slugs the wall shows; null or absent means every client. */
    clients: z.array(clientSlug).min(1).max(200).nullable().optional(),
    pages: z.array(wallPage).min(1).max(10),
    chime: wallChime.optional(),
    /** Slow pixel shift against burn-in (on by default). */
    pixelShift: z.boolean().optional(),
    /** The zone the heatmap's days follow; null or absent: the server's (WATCHFLOOR_TIMEZONE). */
    timeZone: timeZoneName.nullable().optional(),
  })
  .strict();
export type CreateWallRequest = z.infer<typeof createWallRequest>;

export const updateWallRequest = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    clients: z.array(clientSlug).min(1).max(200).nullable().optional(),
    pages: z.array(wallPage).min(1).max(10).optional(),
    chime: wallChime.optional(),
    pixelShift: z.boolean().optional(),
    timeZone: timeZoneName.nullable().optional(),
    /** Optimistic concurrency: the version the editor started from. */
    version: z.number().int().positive().optional(),
  })
  .strict();
export type UpdateWallRequest = z.infer<typeof updateWallRequest>;

/** A wall as admins and leads see it; the device token itself is never sent again, only its prefix. */
export interface WallDto {
  id: string;
  name: string;
  clients: string[] | null;
  pages: WallPage[];
  chime: WallChime;
  pixelShift: boolean;
  /** The zone the heatmap's days follow; null: the server's. */
  timeZone: string | null;
  /** First characters of the current device token, to tell screens apart; null once revoked. */
  tokenPrefix: string | null;
  tokenCreatedAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** `POST /api/v1/walls` and `POST /api/v1/walls/:id/token`: the device token, shown once. */
export interface WallWithTokenDto {
  wall: WallDto;
  token: string;
  /** The address to open on the screen: `/wall/<id>?token=…` on this server. */
  openPath: string;
}

/** What a wall screen loads: its layout and the clients it covers, nothing secret. */
export interface WallDisplayDto extends Pick<WallDto, 'id' | 'name' | 'clients' | 'pages' | 'chime' | 'pixelShift'> {
  /** Client slug → display name and uptime target, for the clients the wall covers. */
  clientInfo: { slug: string; name: string; uptimeTarget: number }[];
  demo: boolean;
  serverTime: string;
}

/** The default for a new wall: the three panels side by side. */
export const DEFAULT_WALL_PAGE: WallPage = {
  name: 'Overview',
  dwellSeconds: 60,
  columns: 12,
  rows: 12,
  panels: [
    { kind: 'map', x: 0, y: 0, w: 8, h: 7 },
    { kind: 'queue', x: 8, y: 0, w: 4, h: 12 },
    { kind: 'heatmap', x: 0, y: 7, w: 8, h: 5, range: '7d' },
  ],
};
