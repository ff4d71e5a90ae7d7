import { randomUUID } from 'node:crypto';
import type { SQL } from 'drizzle-orm';
import type { Database, Tx } from '../db/database.ts';
import { processSignals, type EngineOutput } from '../engine/process-signals.ts';
import { groupKeyFor } from '../engine/grouping.ts';
import { condenseTimeline } from '../engine/condense-timeline.ts';
import { carryForward, type EngineState, type StateScope, type WrittenOutput } from '../engine/carry-forward.ts';
import { EngineMemory, withRead, type LearnedPart } from '../engine/engine-memory.ts';
import type { Signal, SourceMapping } from '../engine/types.ts';
import type { ChangeWriter } from '../engine/change-writer.ts';
import { ingestStatement, loadEngineState, runIngestStatement } from '../db/incident-store.ts';
import type { IncidentChange } from '../realtime/coalesce.ts';
import type { Metrics } from '../metrics.ts';

export interface IngestSource {
  id: string;
  name: string;
  mapping: SourceMapping;
}

interface Job {
  source: IngestSource;
  signals: Signal[];
  receivedAt: Date;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One source's part of a batch, worked out: the state the engine ran on (exact for `scope`), what it made of it, and the statement that writes it. */
interface SourceWork {
  source: IngestSource;
  jobs: Job[];
  scope: StateScope;
  state: EngineState;
  output: EngineOutput;
  statement: SQL | null;
}

/** A committed transaction's turn and what it wrote, for memory to learn. */
interface Committed {
  turn: number;
  parts: LearnedPart[];
}

/** A batch worked out ahead of its transaction, valid if its turn directly follows `afterTurn`. */
interface Plan {
  afterTurn: number;
  work: SourceWork[];
}

/** A batch on its way to the database. */
interface Flight {
  /**
   * Its transaction holds the writer (everything before it has committed) and knows what it writes:
   * the next batch may now read, run the engine and wait. Undefined when it failed before that.
   */
  underway: Promise<{ turn: number; written: WrittenOutput[] } | undefined>;
  /** Every job has its answer; true if the batch committed as one. */
  settled: Promise<boolean>;
}

/** Most signals one transaction takes; more wait for the next. */
const MAX_BATCH_SIGNALS = 5000;

/**
 * Webhooks hand their validated signals here and get their answer after commit. Requests that
 * arrive while a transaction runs are committed together in the next one (group commit), so many
 * small webhooks cost one transaction, not one each.
 *
 * On Postgres, batches overlap: while one batch writes, the next reads its state on another
 * connection and runs the engine, carrying the state forward over the writing batch's output (which
 * that read cannot see yet), and builds its write statement. Its transaction then only sends that — if no other
 * writer came in between (its turn follows directly); otherwise it reads and runs the engine again inside its
 * transaction.
 * Embedded PGlite runs one statement at a time on this thread, so there nothing would overlap.
 *
 * Either way a batch reads only what memory does not hold (see EngineMemory): most of a batch's alerts
 * and incidents are ones the batches just before it read or wrote.
 */
export class IngestPipeline {
  readonly #database: Database;
  readonly #writer: ChangeWriter;
  readonly #metrics: Metrics;
  readonly #reopenWindowMs: number;
  readonly #overlap: boolean;
  readonly #memory = new EngineMemory();
  #queue: Job[] = [];
  #draining = false;
  #arrived: (() => void) | undefined;

  constructor(options: { database: Database; writer: ChangeWriter; metrics: Metrics; reopenWindowMs: number }) {
    this.#database = options.database;
    this.#writer = options.writer;
    this.#metrics = options.metrics;
    this.#reopenWindowMs = options.reopenWindowMs;
    this.#overlap = options.database.kind === 'postgres';
  }

  /** Resolves once the signals are committed; rejects if their transaction failed (nothing of it is stored). */
  submit(source: IngestSource, signals: Signal[], receivedAt = new Date()): Promise<void> {
    if (signals.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ source, signals, receivedAt, resolve, reject });
      this.#arrived?.();
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      let previous: Flight | undefined;
      for (;;) {
        if (this.#queue.length === 0) {
          if (previous === undefined) return;
          const arrived = new Promise<'arrived'>((resolve) => (this.#arrived = () => resolve('arrived')));
          if ((await Promise.race([previous.settled, arrived])) !== 'arrived') previous = undefined;
          this.#arrived = undefined;
          continue;
        }
        previous = this.#fly(this.#takeBatch(), previous);
        // Without overlap the next batch forms while this one commits, so it takes everything that came meanwhile.
        await (this.#overlap ? previous.underway : previous.settled);
      }
    } finally {
      this.#draining = false;
    }
  }

  #takeBatch(): Job[] {
    const batch: Job[] = [];
    let size = 0;
    while (this.#queue.length > 0 && (batch.length === 0 || size + this.#queue[0].signals.length <= MAX_BATCH_SIGNALS)) {
      const job = this.#queue.shift()!;
      size += job.signals.length;
      batch.push(job);
    }
    return batch;
  }

  /** Sends `jobs` to the database after `previous`, planned ahead while `previous` writes when it can be. */
  #fly(jobs: Job[], previous: Flight | undefined): Flight {
    let announce!: (underway: Awaited<Flight['underway']>) => void;
    const underway = new Promise<Awaited<Flight['underway']>>((resolve) => (announce = resolve));
    // A plan that fails (its read, say) is only a plan: the transaction works the batch out again.
    const plan = this.#overlap && previous ? this.#plan(jobs, previous).catch(() => undefined) : undefined;
    const settled = (async () => {
      // Commits stay in order; a plan carried forward over a batch that did not commit is void.
      const ready = previous === undefined || (await previous.settled) ? await plan : undefined;
      const stop = this.#metrics.dbQuery.startTimer({ op: 'ingest_batch' });
      try {
        const { turn, parts } = await this.#writer.write((tx, turn) => this.#commit(tx, turn, jobs, ready, announce));
        this.#memory.learn(turn, parts);
        for (const job of jobs) job.resolve();
        return true;
      } catch (error) {
        announce(undefined);
        if (jobs.length === 1) jobs[0].reject(error);
        // One sender's failure must not fail everyone committed with it: retry each on its own.
        else for (const job of jobs) await this.#writer.write((tx, turn) => this.#commit(tx, turn, [job])).then(({ turn, parts }) => (this.#memory.learn(turn, parts), job.resolve()), job.reject);
        return false;
      } finally {
        stop();
      }
    })();
    return { underway, settled };
  }

  /**
   * Works a batch out while `previous` writes: reads each source's state outside any transaction (it
   * sees everything committed before `previous`), carries it forward over what `previous` writes, and
   * runs the engine. Undefined when that is not possible; the batch is then worked out in its transaction.
   */
  async #plan(jobs: Job[], previous: Flight): Promise<Plan | undefined> {
    const ahead = await previous.underway;
    if (ahead === undefined) return undefined;
    const now = new Date();
    const parts = bySource(jobs);
    // Memory and this read both stand where the batch in flight started: carried forward over it, after it.
    const read = await Promise.all(parts.map(({ source, signals }) => this.#readState(undefined, ahead.turn, source, signals, now)));
    const written = [...ahead.written];
    const work: SourceWork[] = [];
    for (const [index, part] of parts.entries()) {
      const { scope } = read[index];
      const state = carryForward(read[index].state, written, scope);
      if (state === undefined) return undefined;
      const output = this.#run(part.source, part.signals, state, now);
      written.push({ sourceId: part.source.id, output });
      work.push({ source: part.source, jobs: part.jobs, scope, state, output, statement: statementOf(part.source, part.jobs, state, output) });
    }
    return { afterTurn: ahead.turn, work };
  }

  /** One transaction: the plan's writes if no other writer came since it was made, else per source read → engine → write. */
  async #commit(
    tx: Tx,
    turn: number,
    jobs: Job[],
    plan?: Plan,
    announce?: (underway: { turn: number; written: WrittenOutput[] }) => void,
  ): Promise<{ result: Committed; changes: IncidentChange[] }> {
    const changes: IncidentChange[] = [];
    const learned = (work: SourceWork[]): Committed => ({
      turn,
      parts: work.map(({ source, scope, state, output }) => ({ sourceId: source.id, scope, state, output })),
    });
    if (plan !== undefined && plan.afterTurn + 1 === turn) {
      this.#metrics.ingestBatches.inc({ worked_out: 'ahead' });
      announce?.({ turn, written: plan.work.map(({ source, output }) => ({ sourceId: source.id, output })) });
      for (const { statement } of plan.work) changes.push(...(await runIngestStatement(this.#database, tx, statement)));
      return { result: learned(plan.work), changes };
    }
    this.#metrics.ingestBatches.inc({ worked_out: 'in_transaction' });
    const now = new Date();
    const written: WrittenOutput[] = [];
    const done: SourceWork[] = [];
    for (const { source, jobs: sourceJobs, signals } of bySource(jobs)) {
      const read = await this.#readState(tx, turn, source, signals, now);
      // What memory recalled stands before this transaction: carried over the sources written in it so far.
      const state = carryForward(read.state, written, read.scope) ?? (await this.#readState(tx, undefined, source, signals, now)).state;
      const output = this.#run(source, signals, state, now);
      written.push({ sourceId: source.id, output });
      const work: SourceWork = { source, jobs: sourceJobs, scope: read.scope, state, output, statement: statementOf(source, sourceJobs, state, output) };
      changes.push(...(await runIngestStatement(this.#database, tx, work.statement)));
      done.push(work);
    }
    announce?.({ turn, written });
    return { result: learned(done), changes };
  }

  /**
   * A source's state for `signals`: what memory holds as of before `turn`, and the rest read (inside `tx`, or
   * on a connection of its own). Without a turn, all of it read.
   */
  async #readState(tx: Tx | undefined, turn: number | undefined, source: IngestSource, signals: Signal[], now: Date) {
    const fingerprints = new Set(signals.map((s) => s.fingerprint));
    const groupKeys = new Set(signals.map((s) => groupKeyFor(s, source.mapping)));
    const reopenSince = new Date(now.getTime() - this.#reopenWindowMs);
    const scope: StateScope = { sourceId: source.id, fingerprints, groupKeys, reopenSince };
    const recalled =
      turn === undefined ? { known: undefined, unknownFingerprints: [...fingerprints], unknownGroupKeys: [...groupKeys] } : this.#memory.recall(turn, scope);
    const { known, unknownFingerprints, unknownGroupKeys } = recalled;
    if (known !== undefined && unknownFingerprints.length === 0 && unknownGroupKeys.length === 0) return { state: known, scope };
    const read = await loadEngineState(this.#database, tx, source.id, unknownFingerprints, unknownGroupKeys, reopenSince);
    return { state: known === undefined ? read : withRead(known, read), scope };
  }

  #run(source: IngestSource, signals: Signal[], state: EngineState, now: Date): EngineOutput {
    const output = processSignals({
      sourceId: source.id,
      sourceName: source.name,
      mapping: source.mapping,
      signals,
      ...state,
      now,
      reopenWindowMs: this.#reopenWindowMs,
      newId: randomUUID,
    });
    // A new incident keeps the labels of the alert that opened it (the first to point at it) for the console.
    const newIds = new Set(output.newIncidentIds);
    const opened = new Map(output.incidents.filter((i) => newIds.has(i.id)).map((i) => [i.id, i]));
    for (const alert of output.alerts) {
      const incident = alert.incidentId === null ? undefined : opened.get(alert.incidentId);
      if (incident && !incident.labels) incident.labels = alert.labels;
    }
    return output;
  }
}

/** The statement that writes a source's part of a batch: the engine's output and the raw signals. */
function statementOf(source: IngestSource, jobs: Job[], state: EngineState, output: EngineOutput): SQL | null {
  return ingestStatement({
    incidents: output.incidents,
    alerts: output.alerts,
    alertsBefore: state.alerts,
    timeline: condenseTimeline(output.timeline),
    sourceId: source.id,
    signals: jobs.flatMap((job) => job.signals.map((signal) => ({ signal, receivedAt: job.receivedAt }))),
  });
}

/** A batch's jobs by source, in order of first arrival. */
function bySource(jobs: Job[]): { source: IngestSource; jobs: Job[]; signals: Signal[] }[] {
  const parts = new Map<string, { source: IngestSource; jobs: Job[]; signals: Signal[] }>();
  for (const job of jobs) {
    const part = parts.get(job.source.id) ?? { source: job.source, jobs: [], signals: [] };
    part.jobs.push(job);
    part.signals.push(...job.signals);
    parts.set(job.source.id, part);
  }
  return [...parts.values()];
}
