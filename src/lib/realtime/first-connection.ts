import { HEAD_ROWS_MAX, type FeedRequest, type FeedResume } from '$lib/protocol/incidents.ts';
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

/** How long the phone's handshake waits for who is signed in and where their copy stands, before going without a subscription. */
export const STORED_RESUME_WAIT_MS = 3000;

/**
 * The phone's handshake subscription: `feed` resuming from the copy of the open incidents this device stored for
 * the person signed in, when there is one that can be resumed, else `feed` as it is (a snapshot). The person is
 * the one the session check (`signedIn`: their user id, null for nobody) names: a copy is one person's, and the
 * HttpOnly cookie tells the page nothing. When either read fails or takes longer than `waitMs`, no subscription
 * (undefined): the phone's state then subscribes itself once it has read its copy, resuming from it as well.
 *
 * Why the handshake carries the resume, although IndexedDB is asynchronous: a handshake without it would bring
 * the full snapshot (~4 MB at 10,000 open incidents, on a mobile network) that the resume exists to spare, and a
 * handshake without any subscription would leave the phone's own subscription a round trip after the page has
 * rendered. Socket.IO asks for the handshake's payload only once its transport is open and waits for the answer,
 * so these two small reads (the session check the app makes at start anyway, and a resume point of a few bytes,
 * kept apart from the copy) run beside the transport's opening and rarely hold the handshake back. Nothing on
 * screen waits for the handshake: the phone paints its stored copy from its own read, stale until the answer.
 */
export async function withStoredResume(
  feed: FeedRequest,
  signedIn: Promise<string | null>,
  resumePointOf: (userId: string) => Promise<FeedResume | null>,
  waitMs = STORED_RESUME_WAIT_MS,
): Promise<FeedRequest | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)));
  const read = async (): Promise<FeedRequest> => {
    const userId = await signedIn;
    // Nobody signed in: the server refuses the handshake whatever it carries.
    const resume = userId === null ? null : await resumePointOf(userId);
    return resume ? { ...feed, resume } : feed;
  };
  try {
    const answer = await Promise.race([read(), late]);
    return answer === 'late' ? undefined : answer;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

let first: Connection | null = null;

/**
 * Opens the socket as the app starts, before the layout and the page have loaded, with the page's
 * subscription in the handshake: by the time the queue has rendered, its snapshot is there. The
 * handshake is authenticated by the session cookie, so it does not wait for the session check — except on
 * the phone, which resumes from the copy it stored for the person signed in (see {@link withStoredResume}).
 */
export function openFirstConnection(
  path: string,
  search: string,
  viewportHeight: number,
  stored?: { signedIn: Promise<string | null>; resumePointOf: (userId: string) => Promise<FeedResume | null> },
): void {
  if (first || isPublicPath(path) || isKioskPath(path)) return;
  const feed = feedOfPage(path, search, viewportHeight);
  first = new Connection('/', { feed: feed && stored && isPhonePath(path) ? withStoredResume(feed, stored.signedIn, stored.resumePointOf) : feed });
}

/** The connection {@link openFirstConnection} opened, handed over once (later ones are opened by their owner). */
export function takeFirstConnection(): Connection | null {
  const taken = first;
  first = null;
  return taken;
}
