import { HEAD_ROWS_MAX, type FeedRequest } from '$lib/protocol/incidents.ts';
import { parseFilter, serialiseFilter } from '$lib/domain/incident-filter.ts';
import { QUEUE_ROW_HEIGHT } from '$lib/console/virtual-window.ts';
import { Connection } from './connection.svelte.ts';

/** Pages anyone may see: signing in and the signed-out confirmation. */
export const isPublicPath = (path: string): boolean => path === '/login' || path === '/logout';
/** Kiosk screens: a wall signs in with its own device cookie and opens its own connection. */
export const isKioskPath = (path: string): boolean => path === '/wall' || path.startsWith('/wall/');
/** The phone view brings its own compact header. */
export const isPhonePath = (path: string): boolean => path === '/m' || path.startsWith('/m/');

/**
 * The subscription the page at `path` opens with, if it shows incidents (what its `IncidentsState` asks for).
 * The queue also asks for its first screenful (`search`: its filter), drawn before the snapshot is in.
 */
export function feedOfPage(path: string, search = '', viewportHeight = 1000): FeedRequest | undefined {
  if (path === '/') {
    const rows = Math.min(HEAD_ROWS_MAX, Math.ceil(viewportHeight / QUEUE_ROW_HEIGHT) + 8);
    return { scope: {}, mode: 'console', head: { filter: serialiseFilter(parseFilter(new URLSearchParams(search))), rows } };
  }
  if (path === '/lead' || path.startsWith('/incident/')) return { scope: {}, mode: 'console' };
  if (path === '/map' || isPhonePath(path)) return { scope: {}, mode: 'screen' };
  return undefined;
}

let first: Connection | null = null;

/**
 * Opens the socket as the app starts, before the layout and the page have loaded, with the page's
 * subscription in the handshake: by the time the queue has rendered, its snapshot is there. The
 * handshake is authenticated by the session cookie, so it does not wait for the session check.
 */
export function openFirstConnection(path: string, search: string, viewportHeight: number): void {
  if (first || isPublicPath(path) || isKioskPath(path)) return;
  first = new Connection('/', { feed: feedOfPage(path, search, viewportHeight) });
}

/** The connection {@link openFirstConnection} opened, handed over once (later ones are opened by their owner). */
export function takeFirstConnection(): Connection | null {
  const taken = first;
  first = null;
  return taken;
}
