/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
/// <reference types="@sveltejs/kit" />
/**
 * The service worker: the app shell from the precache (offline start), network-first API reads,
 * and the phone's pages — `push` shows them, `notificationclick` acknowledges or opens.
 *
 * Nothing of one user outlives their session here: API responses are cached only while the same
 * session lasts (the cache is dropped when anyone signs in or out), and Socket.IO never passes
 * through a cache.
 */
import { build, files, version } from '$service-worker';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';
import type { PushAcknowledgeResponse, PushPayload } from '$lib/protocol/push.ts';
import type { ErrorBody } from '$lib/protocol/errors.ts';
import { FROM_CACHE_HEADER, OFFLINE_DB } from '$lib/phone/offline-snapshot.ts';

const sw = self as unknown as ServiceWorkerGlobalScope;

/** API reads answered from here when the network is down: the signed-in user's own, dropped at sign-in/out. */
const API_CACHE = 'watchfloor-api';
/** The app's shell: it routes any page itself (the pages built ahead only add hints for a first visit's fetches). */
const SHELL = '/pages/shell.html';
const ICON = '/icons/icon-192.png';
const BADGE = '/icons/badge-96.png';

// ── app shell ───────────────────────────────────────────────────────────────────────────────────
// Hashed build files never change (no revision needed); static files and the shell change per version.
precacheAndRoute([
  ...build.map((url) => ({ url, revision: null })),
  ...files.map((url) => ({ url, revision: version })),
  { url: SHELL, revision: version },
]);
cleanupOutdatedCaches();

// Every in-app navigation gets the precached shell (the SPA routes itself), also offline.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL(SHELL), {
    denylist: [/^\/api\//, /^\/socket\.io\//, /^\/metrics/, /^\/healthz/, /^\/readyz/, /^\/v2\//],
  }),
);

// ── API reads: network first, the last answer when offline ─────────────────────────────────────
registerRoute(
  ({ url, request, sameOrigin }) => sameOrigin && request.method === 'GET' && url.pathname.startsWith('/api/'),
  new NetworkFirst({
    cacheName: API_CACHE,
    plugins: [
      // Only complete answers are kept: never a refusal, never a redirect.
      { cacheWillUpdate: async ({ response }) => (response.status === 200 ? response : null) },
      {
        cacheWillUpdate: async ({ response }) => {
          const headers = new Headers(response.headers);
          headers.set(FROM_CACHE_HEADER, new Date().toISOString());
          return new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers });
        },
      },
    ],
  }),
);

/** Drops everything that belongs to the signed-in user: cached API answers and the offline snapshot. */
async function forgetUserData(): Promise<void> {
  await caches.delete(API_CACHE);
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(OFFLINE_DB);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

// Signing in or out changes whose data this device holds: drop the previous user's before it can be shown.
sw.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin || url.pathname !== '/api/v1/session') return;
  if (event.request.method === 'POST' || event.request.method === 'DELETE') event.waitUntil(forgetUserData());
});

sw.addEventListener('message', (event) => {
  const type = (event.data as { type?: unknown } | null)?.type;
  // workbox-window's messageSkipWaiting(): the person chose "reload" on the update prompt.
  if (type === 'SKIP_WAITING') void sw.skipWaiting();
  if (type === 'FORGET_USER_DATA') event.waitUntil(forgetUserData());
});

sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

// ── push ────────────────────────────────────────────────────────────────────────────────────────

/** Notification options with the fields lib.dom does not declare yet (actions, renotify, timestamp). */
type RichNotificationOptions = NotificationOptions & {
  actions?: { action: string; title: string }[];
  renotify?: boolean;
  timestamp?: number;
};

/** What a notification remembers for its click: where it leads, and the page it came from. */
interface NotificationData {
  url: string;
  page?: Extract<PushPayload, { kind: 'page' }>;
}

function readPayload(event: PushEvent): PushPayload | null {
  try {
    const data = event.data?.json() as PushPayload | undefined;
    return data && data.v === 1 && typeof data.title === 'string' && typeof data.url === 'string' ? data : null;
  } catch {
    return null;
  }
}

/** Same origin, path only: a payload can never send the phone elsewhere. */
function safePath(url: string): string {
  return url.startsWith('/') && !url.startsWith('//') && !url.startsWith('/\\') ? url : '/m';
}

function showPush(payload: PushPayload | null): Promise<void> {
  if (payload === null) {
    // A push we cannot read still has to show something (browsers require it): point to the app.
    return sw.registration.showNotification('Watchfloor', { body: 'Open Watchfloor to see what changed.', icon: ICON, badge: BADGE, data: { url: '/m' } });
  }
  const data: NotificationData = { url: safePath(payload.url), ...(payload.kind === 'page' ? { page: payload } : {}) };
  const options: RichNotificationOptions = {
    body: payload.body,
    tag: payload.tag,
    // A later page for the same incident replaces the earlier one, and still alerts.
    renotify: true,
    requireInteraction: payload.kind === 'page',
    icon: ICON,
    badge: BADGE,
    timestamp: Date.parse(payload.sentAt) || Date.now(),
    data,
    actions:
      payload.kind === 'page'
        ? [
            { action: 'acknowledge', title: 'Acknowledge' },
            { action: 'open', title: 'Open' },
          ]
        : [],
  };
  return sw.registration.showNotification(payload.title, options);
}

sw.addEventListener('push', (event) => event.waitUntil(showPush(readPayload(event))));

/**
 * The Acknowledge action: posts the page's single-use token (no cookie needed) and replaces the
 * page with the outcome, so the person sees it without opening the app.
 */
async function acknowledgeFromNotification(page: NonNullable<NotificationData['page']>): Promise<void> {
  let title: string;
  let body: string;
  try {
    const response = await fetch('/api/v1/push/actions/acknowledge', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      credentials: 'omit',
      body: JSON.stringify({ token: page.ackToken }),
    });
    const answer = (await response.json().catch(() => null)) as PushAcknowledgeResponse | ErrorBody | null;
    if (response.ok && answer && 'result' in answer) {
      title = `#${page.number} ${answer.message}`;
      body = page.title;
    } else {
      const why = answer && 'error' in answer ? answer.error.message : `the server answered ${response.status}`;
      title = `#${page.number} not acknowledged`;
      body = `${why.charAt(0).toUpperCase()}${why.slice(1)}. Tap to open.`;
    }
  } catch {
    title = `#${page.number} not acknowledged`;
    body = 'No connection to Watchfloor. Tap to open and try again.';
  }
  await sw.registration.showNotification(title, {
    body,
    tag: page.tag,
    icon: ICON,
    badge: BADGE,
    data: { url: safePath(page.url) } satisfies NotificationData,
  } as RichNotificationOptions);
}

/** Focuses an open window of the app and shows `path` in it, or opens one. */
async function openApp(path: string): Promise<void> {
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const existing = windows.find((w) => new URL(w.url).origin === sw.location.origin);
  if (existing) {
    const navigated = await existing.navigate(path).catch(() => null);
    // Focusing needs the browser's own click; the navigation above is what matters.
    await (navigated ?? existing).focus().catch(() => undefined);
    return;
  }
  await sw.clients.openWindow(path);
}

sw.addEventListener('notificationclick', (event) => {
  const data = (event.notification.data ?? { url: '/m' }) as NotificationData;
  event.notification.close();
  const work = event.action === 'acknowledge' && data.page ? acknowledgeFromNotification(data.page) : openApp(safePath(data.url));
  try {
    event.waitUntil(work);
  } catch {
    // An event dispatched by script (not by the browser) cannot extend its lifetime; the work still runs.
  }
});
