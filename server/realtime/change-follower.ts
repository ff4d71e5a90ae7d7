import type { FastifyBaseLogger } from 'fastify';
import { parseChangeNotice } from '../engine/change-writer.ts';
import type { IncidentChange } from './coalesce.ts';

/**
 * Committed changes with ids above `after` (and below `before`, when not null), in id order, at most `limit`,
 * read from the `changes` table.
 */
export type ReadChanges = (after: number, before: number | null, limit: number) => Promise<IncidentChange[]>;

/** Changes read from the table per query: a long catch-up goes out in slices this big. */
const PAGE = 1000;
/** How long to wait before trying again a read that failed (the database is unreachable). */
const RETRY_MS = 1000;

/** What publishing a commit of this process takes, given that every id up to `published` is published. */
export interface OwnCommitPlan {
  /** Ids to read from the table and publish first (exclusive bounds), or null when the commit follows on. */
  readBetween: { after: number; before: number } | null;
  /** The commit's changes not published yet. */
  publish: IncidentChange[];
}

/**
 * Ids between the last one published here and a commit of this process's own were committed before it by
 * other processes (change ids commit in id order: the writer lock), or never used (a transaction rolled back):
 * they are read from the table and published first. Pure.
 */
export function planOwnCommit(published: number, changes: readonly IncidentChange[]): OwnCommitPlan {
  const publish = changes.filter((change) => change.changeId > published);
  if (publish.length === 0) return { readBetween: null, publish };
  const first = publish[0].changeId;
  return { readBetween: first > published + 1 ? { after: published, before: first } : null, publish };
}

type Step = { kind: 'own'; changes: IncidentChange[] } | { kind: 'catch-up' };

/**
 * Every committed change, whichever process committed it, is published in this process exactly once
 * and in id order (DESIGN principles 1 and 6).
 *
 * This process's own commits are published at once when they follow on from the last id published. Other
 * processes' commits are heard of (a notice on the changes channel, see ChangeWriter) and read from
 * the table. Every id above the last one published is either published in order or waits its turn
 * behind a read: one step at a time, each publishing only ids above the last published.
 * A notice lost while the listening connection was down costs nothing but time: a catch-up on
 * reconnect, and a periodic one, read whatever is above the last id published.
 */
export class ChangeFollower {
  readonly #read: ReadChanges;
  readonly #publish: (changes: IncidentChange[]) => void;
  readonly #ownWriterId: string;
  readonly #log: FastifyBaseLogger;
  #published: number;
  readonly #steps: Step[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;

  constructor(options: {
    /** The newest change id when this process starts: everything up to it is in what its copies read. */
    after: number;
    read: ReadChanges;
    /** To this process's copy of the open incidents and its screens, in id order. */
    publish: (changes: IncidentChange[]) => void;
    /** The id this process's ChangeWriter signs its notices with: those commits are published as they commit. */
    ownWriterId: string;
    log: FastifyBaseLogger;
  }) {
    this.#published = options.after;
    this.#read = options.read;
    this.#publish = options.publish;
    this.#ownWriterId = options.ownWriterId;
    this.#log = options.log;
  }

  /** A commit of this process (the writer's publish, right after commit), in commit order. */
  committedHere(changes: IncidentChange[]): void {
    // Following on from the last id published it goes out at once, no added latency, even while a read is in
    // flight: what that read brings back up to here is dropped as published.
    if (planOwnCommit(this.#published, changes).readBetween === null) this.#publishNew(changes);
    else this.#enqueue({ kind: 'own', changes });
  }

  /** A notice on the changes channel: another process committed changes up to some id. */
  heard(payload: string): void {
    const notice = parseChangeNotice(payload);
    if (notice === null) this.#log.warn({ payload: payload.slice(0, 100) }, 'unreadable change notice: catching up from the table');
    else if (notice.writerId === this.#ownWriterId || notice.lastChangeId <= this.#published) return;
    this.catchUp();
  }

  /** Reads and publishes whatever the table holds above the last id published (on reconnect, and now and then). */
  catchUp(): void {
    // A catch-up still waiting reads everything there is when its turn comes: one is enough.
    if (this.#steps.at(-1)?.kind === 'catch-up') return;
    this.#enqueue({ kind: 'catch-up' });
  }

  /** Resolves once every step queued so far is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Stops after the step under way; what is still queued is dropped (the process is going away). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#steps.length = 0;
    await this.idle();
  }

  #enqueue(step: Step): void {
    if (this.#closed) return;
    this.#steps.push(step);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    for (let step = this.#steps.shift(); step; step = this.#steps.shift()) await this.#run(step);
    // Set in the same turn as the queue was found empty: a step enqueued later starts a new drain.
    this.#draining = null;
  }

  /** Runs a step until it succeeds: each attempt starts from the last id published, so none repeats a change. */
  async #run(step: Step): Promise<void> {
    while (!this.#closed) {
      try {
        if (step.kind === 'catch-up') await this.#readAndPublish(null);
        else {
          const plan = planOwnCommit(this.#published, step.changes);
          if (plan.readBetween) await this.#readAndPublish(plan.readBetween.before);
          this.#publishNew(plan.publish);
        }
        return;
      } catch (error) {
        this.#log.error({ err: error }, 'reading committed changes failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  /** Publishes every committed change above the last one published (and below `before`, when not null). */
  async #readAndPublish(before: number | null): Promise<void> {
    for (;;) {
      const page = await this.#read(this.#published, before, PAGE);
      this.#publishNew(page);
      if (page.length < PAGE) return;
    }
  }

  /** Publishes those of `changes` above the last id published: nothing goes out twice. */
  #publishNew(changes: IncidentChange[]): void {
    const fresh = changes.filter((change) => change.changeId > this.#published);
    if (fresh.length === 0) return;
    this.#published = fresh[fresh.length - 1].changeId;
    this.#publish(fresh);
  }
}
