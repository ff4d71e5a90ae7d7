/** Where a screen's socket is: opening for the first time, connected, or trying to get back. */
export type SocketPhase = 'connecting' | 'live' | 'reconnecting';

/**
 * What a screen says about its data: `live` only when it is current. `stale`: nothing heard for a while,
 * whatever the socket claims. `refused`: the socket is fine, but the server refused its incidents
 * subscription, so nothing on screen updates any more.
 */
export type ScreenStatus = SocketPhase | 'stale' | 'refused';

/**
 * The one rule every indicator follows (the console's, the phone's header, the wall's strip), most
 * important first: a socket still connecting says so; silence beyond the stale limit trumps what the
 * socket claims; a live socket whose subscription is refused is not live. Pure.
 */
export function screenStatus(phase: SocketPhase, silentTooLong: boolean, subscriptionRefused: boolean): ScreenStatus {
  if (phase === 'connecting') return 'connecting';
  if (silentTooLong) return 'stale';
  if (phase === 'live' && subscriptionRefused) return 'refused';
  return phase;
}
