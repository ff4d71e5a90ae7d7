import type { ClientInit } from '@sveltejs/kit';
import { openFirstConnection } from '$lib/realtime/first-connection.ts';
import { checkSessionEarly } from '$lib/state/session.svelte.ts';
import { loadResumePoint } from '$lib/phone/offline-snapshot.ts';

/** Runs once as the app starts, before the first page's code loads. */
export const init: ClientInit = () => {
  const session = checkSessionEarly();
  openFirstConnection(location.pathname, location.search, window.innerHeight, {
    // Nobody signed in, or the server did not say who: no copy is known to be theirs (a snapshot, as without one).
    signedIn: session.then((s) => s.user.id, () => null),
    resumePointOf: loadResumePoint,
  });
};
