// The contract between the `collect` command and each source's collector.
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { CollectionRepository, TimeRange } from '../store/collection.repository.js';
import type { Store } from '../store/database.js';
import { createEvidenceRepository, type EvidenceRepository } from '../store/evidence.repository.js';

export interface CollectContext {
  readonly store: Store;
  readonly evidence: EvidenceRepository;
  readonly collection: CollectionRepository;
  readonly config: Config;
  readonly logger: Logger;
  readonly runId: number;
  readonly progress: ProgressReporter;
  /** Injected clock (tests and the demo pin it). */
  readonly now: () => Date;
  readonly signal?: AbortSignal;
}

export interface CollectOptions {
  /** First run: where to start (else the source's retention window). */
  since?: Date;
  /** Where to stop (default: now). */
  until?: Date;
}

export interface StreamSummary {
  stream: string;
  records: number;
  inserted: number;
  revised: number;
  quarantined: number;
  coverage: TimeRange[];
  notes: string[];
}

export interface SourceSummary {
  sourceId: string;
  kind: 'entra' | 'metabase';
  streams: StreamSummary[];
}

/** Progress lines on a terminal (records, window, rate, throttle waits). */
export interface ProgressReporter {
  update(stream: string, state: { records: number; window?: TimeRange; throttleWaitMs?: number; note?: string }): void;
  done(stream: string, summary: StreamSummary): void;
}

export const silentProgress: ProgressReporter = { update() {}, done() {} };

/** The context of one run (collection or import) over a store: the evidence repository is
 *  made here, progress is silent unless given. */
export function createCollectContext(
  parts: Omit<CollectContext, 'evidence' | 'progress' | 'signal'> & { progress?: ProgressReporter; signal?: AbortSignal | undefined },
): CollectContext {
  const { progress, signal, ...rest } = parts;
  return {
    ...rest,
    evidence: createEvidenceRepository(rest.store.db),
    progress: progress ?? silentProgress,
    ...(signal ? { signal } : {}),
  };
}

/**
 * What a record mapper returns for one upstream record, in every collector: the record to
 * store (if it could be made) and the problems to quarantine the upstream record with. Both
 * may be present (a Metabase row with an unreadable JSON column is stored and set aside);
 * neither record nor problems means nothing to do. `upstreamId` names the upstream record in
 * the quarantine when the mapper knows it (Metabase's callers take it from the row).
 */
export interface Mapped<R> {
  record?: R;
  /** Reasons to quarantine the upstream record (the record may still be written). */
  problems: string[];
  upstreamId?: string | null;
}

/** A record stored without any problem. */
export const stored = <R>(record: R): Mapped<R> => ({ record, problems: [] });

/** An upstream record that cannot be stored, with the reason for the quarantine. */
export const setAside = <R>(reason: string, upstreamId: string | null): Mapped<R> => ({ problems: [reason], upstreamId });

/** Readers of upstream values by kind (text, number, instant, …), one set per source. */
export type ColumnReaders<K extends string> = Readonly<Record<K, (value: unknown) => unknown>>;

/**
 * The columns a record mapper takes straight from upstream fields, table-driven: `fields`
 * lists, per kind of value, the fields kept as columns, `columnOf` names each one's column
 * (each source keeps its upstream names). Columns that are derived or renamed are written
 * out by the mapper beside these, so every mapper reads as its exceptions only.
 */
export function readColumns<K extends string>(
  record: Readonly<Record<string, unknown>>,
  readers: ColumnReaders<K>,
  fields: Partial<Record<K, readonly string[]>>,
  columnOf: (field: string) => string,
): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const [kind, names] of Object.entries(fields) as [K, readonly string[]][]) {
    for (const name of names) columns[columnOf(name)] = readers[kind](record[name]);
  }
  return columns;
}
