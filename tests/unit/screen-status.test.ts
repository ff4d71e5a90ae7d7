import { describe, expect, it } from 'vitest';
import { screenStatus } from '../../src/lib/realtime/screen-status.ts';

describe('what an indicator says (screenStatus)', () => {
  it('says live only when the socket is live, heard from, and its subscription not refused', () => {
    expect(screenStatus('live', false, false)).toBe('live');
    expect(screenStatus('live', false, true)).toBe('refused');
  });

  it('puts connecting first and silence before a refusal: those are what people must know first', () => {
    expect(screenStatus('connecting', false, true)).toBe('connecting');
    expect(screenStatus('live', true, true)).toBe('stale');
    expect(screenStatus('reconnecting', true, false)).toBe('stale');
    // While reconnecting a refusal is old news: the reconnect subscribes again.
    expect(screenStatus('reconnecting', false, true)).toBe('reconnecting');
  });
});
