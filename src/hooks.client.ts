import type { ClientInit } from '@sveltejs/kit';
import { openFirstConnection } from '$lib/realtime/first-connection.ts';
import { checkSessionEarly } from '$lib/state/session.svelte.ts';

/** Runs once as the app starts, before the first page's code loads. */
export const init: ClientInit = () => {
  openFirstConnection(location.pathname, location.search, window.innerHeight);
  checkSessionEarly();
};
