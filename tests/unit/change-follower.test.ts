import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import pino from 'pino';
import { ChangeFollower, planOwnCommit, type ReadChanges } from '../../server/realtime/change-follower.ts';
import type { IncidentChange } from '../../server/realtime/coalesce.ts';
import { testIncident } from '../helpers/incidents.ts';

const OWN = 'own-writer';
const OTHER = 'other-writer';
const log = pino({ level: 'silent' });

const change = (id: number): IncidentChange => ({ changeId: id, incident: testIncident(`incident-${id % 7}`, id) });
const notice = (lastChangeId: number, writer = OTHER) => JSON.stringify({ last: lastChangeId, writer });
const ids = (changes: readonly IncidentChange[]) => changes.map((c) => c.changeId);

/**
 * The `changes` table as processes see it: committed rows in id order. Ids are drawn in commit order (the writer
 * lock); a rolled-back transaction leaves its ids unused.
 */
class ChangeLog {
  readonly committed: IncidentChange[] = [];
  #next = 1;

  /** Commits a transaction of `count` changes and returns them. */
  commit(count: number): IncidentChange[] {
    const changes = Array.from({ length: count }, () => change(this.#next++));
    this.committed.push(...changes);
    return changes;
  }

  /** A transaction that drew ids and rolled back. */
  rollBack(count: number): void {
    this.#next += count;
  }

  get newest(): number {
    return this.committed.at(-1)?.changeId ?? 0;
  }

  readonly read: ReadChanges = async (after, before, limit) =>
    this.committed.filter((c) => c.changeId > after && (before === null || c.changeId < before)).slice(0, limit);
}

/** A follower over `table` that records every publication and every read. */
function follow(table: ChangeLog, read: ReadChanges = table.read) {
  const published: IncidentChange[][] = [];
  const reads: [number, number | null][] = [];
  const follower = new ChangeFollower({
    after: table.newest,
    read: (after, before, limit) => {
      reads.push([after, before]);
      return read(after, before, limit);
    },
    publish: (changes) => published.push(changes),
    ownWriterId: OWN,
    log,
  });
  return { follower, published, reads, publishedIds: () => published.flatMap(ids) };
}

describe('planOwnCommit: what a commit of this process needs before it is published', () => {
  it('publishes at once a commit that follows the last id published', () => {
    expect(planOwnCommit(10, [change(11), change(12)])).toEqual({ readBetween: null, publish: [change(11), change(12)] });
  });

  it('reads first the ids between the last published and the commit: other processes committed them', () => {
    expect(planOwnCommit(10, [change(14), change(15)])).toEqual({ readBetween: { after: 10, before: 14 }, publish: [change(14), change(15)] });
  });

  it('skips what a catch-up already published from the table', () => {
    expect(planOwnCommit(14, [change(14), change(15)])).toEqual({ readBetween: null, publish: [change(15)] });
    expect(planOwnCommit(20, [change(14), change(15)])).toEqual({ readBetween: null, publish: [] });
  });
});

describe('ChangeFollower: every commit published once, in id order, whoever made it', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes its own commit synchronously, without reading, when nothing came between', () => {
    const table = new ChangeLog();
    table.commit(3);
    const { follower, published, reads } = follow(table);
    follower.committedHere(table.commit(2));
    expect(published.map(ids)).toEqual([[4, 5]]);
    // Its own notice, heard after, reads nothing.
    follower.heard(notice(5, OWN));
    follower.heard(notice(5));
    expect(reads).toEqual([]);
  });

  it('reads what another process committed when it hears of it', async () => {
    const table = new ChangeLog();
    const { follower, published, reads } = follow(table);
    table.commit(2);
    follower.heard(notice(2));
    await follower.idle();
    expect(published.map(ids)).toEqual([[1, 2]]);
    expect(reads).toEqual([[0, null]]);
  });

  it('ignores its own notices even when they arrive before its commit is published', () => {
    const table = new ChangeLog();
    const { follower, reads } = follow(table);
    const mine = table.commit(2);
    follower.heard(notice(2, OWN));
    follower.committedHere(mine);
    expect(reads).toEqual([]);
  });

  it('publishes another process’s commits that came before its own first, then its own', async () => {
    const table = new ChangeLog();
    const { follower, published, reads, publishedIds } = follow(table);
    table.commit(3); // another process; its notice is still on its way
    follower.committedHere(table.commit(2));
    expect(published).toEqual([]); // not before ids 1–3
    await follower.idle();
    expect(reads).toEqual([[0, 4]]);
    expect(published.map(ids)).toEqual([[1, 2, 3], [4, 5]]);
    follower.heard(notice(3)); // the late notice: nothing new, nothing read
    await follower.idle();
    expect(publishedIds()).toEqual([1, 2, 3, 4, 5]);
    expect(reads).toHaveLength(1);
  });

  it('reads the ids a rolled-back transaction left unused, finds nothing, and goes on', async () => {
    const table = new ChangeLog();
    const { follower, publishedIds } = follow(table);
    table.rollBack(2);
    follower.committedHere(table.commit(1));
    await follower.idle();
    expect(publishedIds()).toEqual([3]);
  });

  it('queues its own commit behind a read in flight, and does not publish twice what that read found', async () => {
    const table = new ChangeLog();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { follower, publishedIds } = follow(table, async (after, before, limit) => {
      await gate;
      return table.read(after, before, limit);
    });
    table.commit(2);
    follower.heard(notice(2));
    const mine = table.commit(2); // committed while the read is in flight: the read will see it too
    follower.committedHere(mine);
    expect(publishedIds()).toEqual([]);
    release();
    await follower.idle();
    expect(publishedIds()).toEqual([1, 2, 3, 4]);
  });

  it('publishes its own commit at once while a read is in flight, when nothing came between, and that read does not repeat it', async () => {
    const table = new ChangeLog();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { follower, published, publishedIds } = follow(table, async (after, before, limit) => {
      await gate;
      return table.read(after, before, limit);
    });
    follower.catchUp(); // the periodic one: nothing to find yet
    follower.committedHere(table.commit(2));
    expect(published.map(ids)).toEqual([[1, 2]]);
    table.commit(1); // another process, after: the read in flight may see it
    release();
    await follower.idle();
    expect(publishedIds()).toEqual([1, 2, 3]);
  });

  it('reads once more for the notices heard while a read is in flight, however many', async () => {
    const table = new ChangeLog();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { follower, reads, publishedIds } = follow(table, async (after, before, limit) => {
      await gate;
      return table.read(after, before, limit);
    });
    table.commit(1);
    follower.heard(notice(1));
    for (let i = 0; i < 5; i++) follower.heard(notice(table.commit(1)[0].changeId));
    release();
    await follower.idle();
    expect(reads).toHaveLength(2);
    expect(publishedIds()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('catches up in slices after a long silence', async () => {
    const table = new ChangeLog();
    const { follower, reads, publishedIds } = follow(table);
    table.commit(2500);
    follower.catchUp();
    await follower.idle();
    expect(reads.map(([after]) => after)).toEqual([0, 1000, 2000]);
    expect(publishedIds()).toEqual(ids(table.committed));
  });

  it('tries a failed read again, losing and repeating nothing', async () => {
    vi.useFakeTimers();
    const table = new ChangeLog();
    let failures = 2;
    const { follower, publishedIds } = follow(table, async (after, before, limit) => {
      if (failures-- > 0) throw new Error('connection refused');
      return table.read(after, before, limit);
    });
    table.commit(2);
    follower.committedHere(table.commit(1));
    await vi.advanceTimersByTimeAsync(2500);
    await follower.idle();
    expect(publishedIds()).toEqual([1, 2, 3]);
  });

  it('publishes every commit exactly once and in id order, however notices, reads and commits interleave', async () => {
    type Event = { kind: 'other'; count: number; heard: boolean } | { kind: 'own'; count: number } | { kind: 'rollback' } | { kind: 'catch-up' };
    const event: fc.Arbitrary<Event> = fc.oneof(
      fc.record({ kind: fc.constant('other' as const), count: fc.integer({ min: 1, max: 3 }), heard: fc.boolean() }),
      fc.record({ kind: fc.constant('own' as const), count: fc.integer({ min: 1, max: 3 }) }),
      fc.constant({ kind: 'rollback' as const }),
      fc.constant({ kind: 'catch-up' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(event, { maxLength: 30 }), async (s, events) => {
        const table = new ChangeLog();
        table.commit(2);
        // Reads see the table as it is when they complete, in whatever order the scheduler lets them.
        const { follower, publishedIds } = follow(table, (after, before, limit) => s.schedule(Promise.resolve()).then(() => table.read(after, before, limit)));
        s.scheduleSequence(
          events.map((e) => ({
            label: e.kind,
            builder: async () => {
              if (e.kind === 'own') follower.committedHere(table.commit(e.count));
              else if (e.kind === 'other') {
                const committed = table.commit(e.count);
                // A notice is delivered a moment later (another scheduled task), or lost.
                if (e.heard) void s.schedule(Promise.resolve()).then(() => follower.heard(notice(committed.at(-1)!.changeId)));
              } else if (e.kind === 'rollback') table.rollBack(2);
              else follower.catchUp();
            },
          })),
        );
        await s.waitIdle();
        // The reconnect or periodic catch-up that ends every gap a lost notice left.
        follower.catchUp();
        await s.waitIdle();
        await follower.idle();
        expect(publishedIds()).toEqual(ids(table.committed.slice(2)));
      }),
      { numRuns: 300 },
    );
  });
});
