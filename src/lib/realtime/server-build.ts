import type { AppVersion } from '$lib/protocol/events.ts';

const listeners = new Set<(serverVersion: AppVersion) => void>();
/** What the server said last: a listener that comes after the socket's start hears it too. */
let lastHeard: AppVersion | undefined;

/** Hears which build of the app the server serves, each time a socket starts (the app's update check listens). */
export function onServerBuild(listener: (serverVersion: AppVersion) => void): () => void {
  listeners.add(listener);
  if (lastHeard !== undefined) listener(lastHeard);
  return () => listeners.delete(listener);
}

/** What a socket's ready event said of the server's build. */
export function serverServes(serverVersion: AppVersion): void {
  lastHeard = serverVersion;
  for (const listener of listeners) listener(serverVersion);
}
