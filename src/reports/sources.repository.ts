// What the report model reads from the store besides its populations (those are in
// populations.repository.ts): per source, how many records the period holds and the
// first and last of them, the directory snapshots, and the statistics of Metabase
// sign-ins. Issue 14: no SQL in build-model.ts. The statements are kept under
// test/sql/report-sources.sql beside the populations' and the rules' SQL.
import { type Kysely, type RawBuilder, sql } from 'kysely';

import type { TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';

/** How many records, and the instants of the first and the last. */
export interface RecordSpan {
  n: number;
  first: Date | null;
  last: Date | null;
}

export interface WeekRow {
  week: Date;
  successful: number;
  failed: number;
  /** Successful sign-ins that required multi-factor authentication, of `known` that say. */
  mfa: number;
  known: number;
}

export type EntraLogTable = 'entra_sign_in' | 'entra_directory_audit';

/** The statements, by what they read (the repository runs them; the SQL snapshot lists them). */
export const sourceStatements = {
  /** Records of one Entra log in the period. */
  entraLogSpan: (table: EntraLogTable, sourceId: string, period: TimeRange): RawBuilder<RecordSpan> => sql<RecordSpan>`
    select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from ${sql.table(table)}
    where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}`,

  /** Complete directory snapshots of one Entra source (state has no period). */
  directorySnapshots: (sourceId: string): RawBuilder<RecordSpan> => sql<RecordSpan>`
    select count(*)::int as n, min(observed_at) as first, max(observed_at) as last from snapshot
    where source_id = ${sourceId} and stream = 'entra_user_version' and complete`,

  /** Events of one Metabase source in the period, over the four event tables. */
  metabaseEventSpan: (sourceId: string, period: TimeRange): RawBuilder<RecordSpan> => sql<RecordSpan>`
    select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from (
      select occurred_at from metabase_login where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
      union all select occurred_at from metabase_query_execution where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
      union all select occurred_at from metabase_view where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
      union all select occurred_at from metabase_audit_event where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
    ) x`,

  /** Successful and failed sign-ins to the Metabase applications per ISO week. */
  /** One pass over the period's Metabase app sign-ins (a scan of the biggest table): the
   *  weekly counts and, of the successful ones, how many carry an authentication
   *  requirement and how many of those were multi-factor. */
  signInsPerWeek: (appIds: readonly string[], period: TimeRange): RawBuilder<WeekRow> => sql<WeekRow>`
    select date_trunc('week', occurred_at) as week, count(*) filter (where error_code = 0)::int as successful, count(*) filter (where error_code <> 0)::int as failed,
           count(*) filter (where error_code = 0 and authentication_requirement = 'multiFactorAuthentication')::int as mfa,
           count(authentication_requirement) filter (where error_code = 0)::int as known
    from entra_sign_in where app_id = any(${appIds}::text[]) and occurred_at >= ${period.from} and occurred_at < ${period.to}
    group by 1 order by 1`,
};

const EMPTY: RecordSpan = { n: 0, first: null, last: null };

export interface SourcesRepository {
  entraLogSpan(table: EntraLogTable, sourceId: string, period: TimeRange): Promise<RecordSpan>;
  directorySnapshots(sourceId: string): Promise<RecordSpan>;
  metabaseEventSpan(sourceId: string, period: TimeRange): Promise<RecordSpan>;
  signInsPerWeek(appIds: readonly string[], period: TimeRange): Promise<WeekRow[]>;
}

export function createSourcesRepository(db: Kysely<Database>): SourcesRepository {
  const span = async (query: RawBuilder<RecordSpan>) => (await query.execute(db)).rows[0] ?? EMPTY;
  return {
    entraLogSpan: (table, sourceId, period) => span(sourceStatements.entraLogSpan(table, sourceId, period)),
    directorySnapshots: (sourceId) => span(sourceStatements.directorySnapshots(sourceId)),
    metabaseEventSpan: (sourceId, period) => span(sourceStatements.metabaseEventSpan(sourceId, period)),
    signInsPerWeek: async (appIds, period) => (await sourceStatements.signInsPerWeek(appIds, period).execute(db)).rows,
  };
}
