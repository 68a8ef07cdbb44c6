// How fresh each stream's archive is, and how close the upstream's retention is to
// deleting what we have not archived yet. Entra keeps sign-ins and directory audits for
// ENTRA_LOG_RETENTION_DAYS (Free 7, P1/P2 30): events after the end of our last complete
// window start to vanish upstream once that end is older than the retention, so
// `expiresAt` = last covered instant + retention. Metabase's own retention is not known
// in advance (it is observed, see retention_observation), so its streams report age only.
// Used by the retention guard (jobs), /readyz, /v1/coverage and /metrics.
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
}

export interface FreshnessOptions {
  now: Date;
  entraRetentionDays: number;
  /** Warn this many days before the retention runs out (default 7). */
  warnDays?: number;
}

export const RETENTION_WARN_DAYS = 7;
const DAY = 86_400_000;

/** Streams whose upstream deletes after a known retention. */
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

export async function readFreshness(db: Kysely<Database>, options: FreshnessOptions): Promise<StreamFreshness[]> {
  const rows = await db
    .selectFrom('coverage_window')
    .innerJoin('source', 'source.id', 'coverage_window.source_id')
    .select([
      'coverage_window.source_id as sourceId',
      'source.kind as kind',
      'coverage_window.stream as stream',
      sql<Date>`max(coverage_window.covered_to)`.as('lastCoveredTo'),
    ])
    .groupBy(['coverage_window.source_id', 'source.kind', 'coverage_window.stream'])
    .orderBy('coverage_window.source_id')
    .orderBy('coverage_window.stream')
    .execute();
  return rows.map((row) => {
    const kind = row.kind as 'entra' | 'metabase';
    const lastCoveredTo = new Date(row.lastCoveredTo);
    const retentionDays = kind === 'entra' && entraRetainedStreams.has(row.stream) ? options.entraRetentionDays : null;
    return {
      sourceId: row.sourceId,
      kind,
      stream: row.stream,
      lastCoveredTo,
      retentionDays,
      ...judgeFreshness(lastCoveredTo, retentionDays, options.now, options.warnDays),
    };
  });
}

/** One line for a person: what is at risk and until when. */
export function describeFreshness(f: StreamFreshness): string {
  if (f.status === 'lost') {
    return `${f.stream} of ${f.sourceId}: last collected up to ${f.lastCoveredTo.toISOString()}; the ${f.retentionDays}-day retention has already deleted events since then that were never archived (a log-gap)`;
  }
  return `${f.stream} of ${f.sourceId}: last collected up to ${f.lastCoveredTo.toISOString()}; events after that are deleted upstream from ${f.expiresAt?.toISOString()} (${f.daysLeft} days left): collect now`;
}
