/**
 * Backoff with jitter for reconnects Socket.IO does not make by itself: the server closed the socket (a restart,
 * a deploy) or its handshake middleware refused it. 0.5–1.5 s, doubling up to 15–45 s, so a restarted server is
 * not met by every screen at once.
 */
export function retryDelay(attempt: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
  return base * (0.5 + Math.random());
}
