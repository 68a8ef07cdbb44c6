// The contract between the `collect` command and each source's collector.
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { CollectionRepository, TimeRange } from '../store/collection.repository.js';
import type { Store } from '../store/database.js';
import type { EvidenceRepository } from '../store/evidence.repository.js';

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
