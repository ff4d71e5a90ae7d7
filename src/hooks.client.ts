import type { ClientInit } from '@sveltejs/kit';
import { openFirstConnection } from '$lib/realtime/first-connection.ts';
import { checkSessionEarly } from '$lib/state/session.svelte.ts';

/** Runs once as the app starts, before the first page's code loads. */
export const init: ClientInit = () => {
  const session = checkSessionEarly();
  openFirstConnection(location.pathname, location.search, window.innerHeight, {
    // Nobody signed in, or the server did not say who: no copy is known to be theirs (a snapshot, as without one).
    signedIn: session.then((s) => s.user.id, () => null),
    // Loaded only when the phone asks (the phone's pages load it anyway): the other pages' first visit stays one file shorter.
    resumePointOf: (userId) => import('$lib/phone/offline-snapshot.ts').then((stored) => stored.loadResumePoint(userId)),
  });
};
