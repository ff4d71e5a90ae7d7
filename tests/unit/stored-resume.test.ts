import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withStoredResume, STORED_RESUME_WAIT_MS } from '../../src/lib/realtime/first-connection.ts';
import type { FeedRequest, FeedResume } from '../../src/lib/protocol/incidents.ts';

const phone: FeedRequest = { scope: {}, mode: 'screen' };

describe("the phone's first handshake resumes from the copy stored for the person signed in", () => {
  /** Resume points stored on this device, by user id. */
  const points = new Map<string, FeedResume>([['ana', { after: 41, feedId: 'F' }]]);
  const asked: string[] = [];
  const pointOf = async (userId: string) => {
    asked.push(userId);
    return points.get(userId) ?? null;
  };
  beforeEach(() => (asked.length = 0));
  afterEach(() => vi.useRealTimers());

  it("carries the signed-in person's resume point", async () => {
    await expect(withStoredResume(phone, Promise.resolve('ana'), pointOf)).resolves.toEqual({ scope: {}, mode: 'screen', resume: { after: 41, feedId: 'F' } });
  });

  it("another person on the same device never resumes from it: their own, or none (a snapshot)", async () => {
    await expect(withStoredResume(phone, Promise.resolve('ben'), pointOf)).resolves.toEqual(phone);
    expect(asked).toEqual(['ben']);
  });

  it('nobody signed in: no copy is read', async () => {
    await expect(withStoredResume(phone, Promise.resolve(null), pointOf)).resolves.toEqual(phone);
    expect(asked).toEqual([]);
  });

  it('a read that fails or takes too long leaves the handshake without a subscription: the phone subscribes itself', async () => {
    await expect(withStoredResume(phone, Promise.reject(new Error('offline')), pointOf)).resolves.toBeUndefined();
    await expect(withStoredResume(phone, Promise.resolve('ana'), () => Promise.reject(new Error('IndexedDB unavailable')))).resolves.toBeUndefined();
    vi.useFakeTimers();
    const waiting = withStoredResume(phone, new Promise<string>(() => {}), pointOf);
    await vi.advanceTimersByTimeAsync(STORED_RESUME_WAIT_MS);
    await expect(waiting).resolves.toBeUndefined();
  });
});
