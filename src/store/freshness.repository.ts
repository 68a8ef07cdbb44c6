// How fresh each stream's archive is, and how close the upstream's retention is to
// deleting what we have not archived yet. Entra keeps sign-ins and directory audits for
// ENTRA_LOG_RETENTION_DAYS (Free 7, P1/P2 30): events after the end of our last complete
// window start to vanish upstream once that end is older than the retention, so
// `expiresAt` = last covered instant + retention. Metabase's own retention is not known
// in advance (it is observed, see retention_observation), so its streams report age only.
// Used by the retention guard (jobs), /readyz, /v1/coverage, /metrics and the console's
// overview: one reading, so every place warns about the same streams at the same time.
import { type Kysely, sql } from 'kysely';

import type { Database } from './schema.js';
import { streams } from './streams.js';

export type FreshnessStatus = 'fresh' | 'expiring' | 'lost';

export interface StreamFreshness {
  sourceId: string;
  kind: 'entra' | 'metabase';
  stream: string;
  /** End of the latest completely collected window. */
  lastCoveredTo: Date;
  /** The upstream's retention for this stream, when known. */
  retentionDays: number | null;
  /** When events right after lastCoveredTo start to be deleted upstream (null: unknown retention). */
  expiresAt: Date | null;
  /** Days from now to expiresAt (negative once lost). */
  daysLeft: number | null;
  /** fresh; expiring = within the warning period; lost = upstream already deleted some of what follows lastCoveredTo. */
  status: FreshnessStatus;
  /** The oldest record the upstream still held when last asked (retention_observation);
   *  null when never observed or the upstream did not say. */
  oldestAvailableAt: Date | null;
}

export interface FreshnessOptions {
  now: Date;
  entraRetentionDays: number;
  /** Warn this many days before the retention runs out (default 7). */
  warnDays?: number;
}

export const RETENTION_WARN_DAYS = 7;
const DAY = 86_400_000;

/** The Entra streams upstream deletes after ENTRA_LOG_RETENTION_DAYS (snapshots are not). */
export const entraRetainedStreams: ReadonlySet<string> = new Set<string>([streams.entraSignIns, streams.entraDirectoryAudits]);

/** Judges one stream (exported for tests and for callers with their own data). */
export function judgeFreshness(
  lastCoveredTo: Date,
  retentionDays: number | null,
  now: Date,
  warnDays = RETENTION_WARN_DAYS,
): Pick<StreamFreshness, 'expiresAt' | 'daysLeft' | 'status'> {
  if (retentionDays === null) return { expiresAt: null, daysLeft: null, status: 'fresh' };
  const expiresAt = new Date(lastCoveredTo.getTime() + retentionDays * DAY);
  const leftMs = expiresAt.getTime() - now.getTime();
  const status: FreshnessStatus = leftMs <= 0 ? 'lost' : leftMs <= warnDays * DAY ? 'expiring' : 'fresh';
  return { expiresAt, daysLeft: Math.floor((leftMs / DAY) * 10) / 10, status };
}

/** One stream's freshness from what the store recorded of it. */
export function streamFreshness(
  recorded: Pick<StreamFreshness, 'sourceId' | 'kind' | 'stream' | 'lastCoveredTo' | 'oldestAvailableAt'>,
  options: FreshnessOptions,
): StreamFreshness {
  const retentionDays = recorded.kind === 'entra' && entraRetainedStreams.has(recorded.stream) ? options.entraRetentionDays : null;
  return { ...recorded, retentionDays, ...judgeFreshness(recorded.lastCoveredTo, retentionDays, options.now, options.warnDays) };
}

export async function readFreshness(db: Kysely<Database>, options: FreshnessOptions): Promise<StreamFreshness[]> {
  const rows = await db
    .selectFrom('coverage_window')
    .innerJoin('source', 'source.id', 'coverage_window.source_id')
    .select((eb) => [
      'coverage_window.source_id as sourceId',
      'source.kind as kind',
      'coverage_window.stream as stream',
      sql<Date>`max(coverage_window.covered_to)`.as('lastCoveredTo'),
      // The stream's latest retention observation (index retention_observation_stream).
      eb
        .selectFrom('retention_observation as r')
        .select('r.oldest_available_at')
        .whereRef('r.source_id', '=', 'coverage_window.source_id')
        .whereRef('r.stream', '=', 'coverage_window.stream')
        .orderBy('r.observed_at', 'desc')
        .orderBy('r.id', 'desc')
        .limit(1)
        .as('oldestAvailableAt'),
    ])
    .groupBy(['coverage_window.source_id', 'source.kind', 'coverage_window.stream'])
    .orderBy('coverage_window.source_id')
    .orderBy('coverage_window.stream')
    .execute();
  return rows.map((row) =>
    streamFreshness(
      {
        sourceId: row.sourceId,
        kind: row.kind as 'entra' | 'metabase',
        stream: row.stream,
        lastCoveredTo: new Date(row.lastCoveredTo),
        oldestAvailableAt: row.oldestAvailableAt ? new Date(row.oldestAvailableAt) : null,
      },
      options,
    ),
  );
}

/** One line for a person: what is at risk and until when. */
export function describeFreshness(f: StreamFreshness): string {
  if (f.status === 'lost') {
    return `${f.stream} of ${f.sourceId}: last collected up to ${f.lastCoveredTo.toISOString()}; the ${f.retentionDays}-day retention has already deleted events since then that were never archived (a log-gap)`;
  }
  return `${f.stream} of ${f.sourceId}: last collected up to ${f.lastCoveredTo.toISOString()}; events after that are deleted upstream from ${f.expiresAt?.toISOString()} (${f.daysLeft} days left): collect now`;
}
