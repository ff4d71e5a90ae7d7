import { randomUUID } from 'node:crypto';
import type { Database, Tx } from '../db/database.ts';
import { processSignals } from '../engine/process-signals.ts';
import { groupKeyFor } from '../engine/grouping.ts';
import { condenseTimeline } from '../engine/condense-timeline.ts';
import type { Signal, SourceMapping } from '../engine/types.ts';
import type { ChangeWriter } from '../engine/change-writer.ts';
import { loadEngineState, writeIngest } from '../db/incident-store.ts';
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

/** Most signals one transaction takes; more wait for the next. */
const MAX_BATCH_SIGNALS = 5000;

/**
 * Webhooks hand their validated signals here and get their answer after commit. Requests that
 * arrive while a transaction runs are committed together in the next one (group commit), so many
 * small webhooks cost one transaction, not one each.
 */
export class IngestPipeline {
  readonly #database: Database;
  readonly #writer: ChangeWriter;
  readonly #metrics: Metrics;
  readonly #reopenWindowMs: number;
  #queue: Job[] = [];
  #draining = false;

  constructor(options: { database: Database; writer: ChangeWriter; metrics: Metrics; reopenWindowMs: number }) {
    this.#database = options.database;
    this.#writer = options.writer;
    this.#metrics = options.metrics;
    this.#reopenWindowMs = options.reopenWindowMs;
  }

  /** Resolves once the signals are committed; rejects if their transaction failed (nothing of it is stored). */
  submit(source: IngestSource, signals: Signal[], receivedAt = new Date()): Promise<void> {
    if (signals.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ source, signals, receivedAt, resolve, reject });
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch: Job[] = [];
        let size = 0;
        while (this.#queue.length > 0 && (batch.length === 0 || size + this.#queue[0].signals.length <= MAX_BATCH_SIGNALS)) {
          const job = this.#queue.shift()!;
          size += job.signals.length;
          batch.push(job);
        }
        const stop = this.#metrics.dbQuery.startTimer({ op: 'ingest_batch' });
        try {
          await this.#writer.write((tx) => this.#commit(tx, batch));
          for (const job of batch) job.resolve();
        } catch (error) {
          if (batch.length === 1) batch[0].reject(error);
          // One sender's failure must not fail everyone committed with it: retry each on its own.
          else for (const job of batch) await this.#writer.write((tx) => this.#commit(tx, [job])).then(job.resolve, job.reject);
        } finally {
          stop();
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /** One transaction: per source, read state → engine → write everything (two statements per source). */
  async #commit(tx: Tx, batch: Job[]): Promise<{ result: undefined; changes: IncidentChange[] }> {
    const now = new Date();
    const bySource = new Map<string, { source: IngestSource; jobs: Job[] }>();
    for (const job of batch) {
      const entry = bySource.get(job.source.id) ?? { source: job.source, jobs: [] };
      entry.jobs.push(job);
      bySource.set(job.source.id, entry);
    }
    const changes: IncidentChange[] = [];
    for (const { source, jobs } of bySource.values()) {
      const signals = jobs.flatMap((j) => j.signals);
      const fingerprints = [...new Set(signals.map((s) => s.fingerprint))];
      const groupKeys = [...new Set(signals.map((s) => groupKeyFor(s, source.mapping)))];
      const state = await loadEngineState(this.#database, tx, source.id, fingerprints, groupKeys, new Date(now.getTime() - this.#reopenWindowMs));
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
      const written = await writeIngest(this.#database, tx, {
        incidents: output.incidents,
        alerts: output.alerts,
        alertsBefore: state.alerts,
        timeline: condenseTimeline(output.timeline),
        sourceId: source.id,
        signals: jobs.flatMap((job) => job.signals.map((signal) => ({ signal, receivedAt: job.receivedAt }))),
      });
      changes.push(...written);
    }
    return { result: undefined, changes };
  }
}
