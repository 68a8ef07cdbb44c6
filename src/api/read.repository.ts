// The SQL behind the API's read routes. Findings, links and login matches belong to a
// correlation run; the API shows those of the latest run that succeeded, so a run in
// progress (or one that failed halfway) never shows a half-written picture.
import { type Kysely, sql } from 'kysely';

import { FINDING_COLUMNS, storedFindingJson } from '../correlation/finding-json.js';
import { type ChangeFeed, uncachedFeed } from '../store/change-feed.js';
import type { Database } from '../store/schema.js';

export interface ReportListRow {
  id: string;
  framework: string;
  period_from: Date;
  period_to: Date;
  as_of: Date;
  generated_at: Date;
  provisional: boolean;
  content_sha256: string;
}

export interface FindingFilter {
  rule?: string | undefined;
  severity?: 'high' | 'medium' | 'low' | undefined;
  personId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

const COLLECTION_RUN_COLUMNS = ['id', 'kind', 'requested', 'status', 'started_at', 'finished_at', 'summary', 'error'] as const;

/** A run's findings by id (ascending), filtered; `to` is exclusive. */
function findingsOf(db: Kysely<Database>, runId: number, filter: FindingFilter, limit: number, afterId?: string) {
  let query = db.selectFrom('finding as f').where('f.run_id', '=', runId).orderBy('f.id').limit(limit);
  if (filter.rule) query = query.where('f.rule', '=', filter.rule);
  if (filter.severity) query = query.where('f.severity', '=', filter.severity);
  if (filter.personId) query = query.where('f.person_id', '=', filter.personId);
  if (filter.from) query = query.where('f.last_seen', '>=', filter.from);
  if (filter.to) query = query.where('f.last_seen', '<', filter.to);
  if (afterId !== undefined) query = query.where('f.id', '>', afterId);
  return query;
}

/** `changes`: the service's change feed, which keeps the latest run and reports' hashes
 *  in memory while they are unchanged (src/store/change-feed.ts); others read each time. */
export function createReadRepository(db: Kysely<Database>, changes: ChangeFeed = uncachedFeed()) {
  const latestRun = async () => {
    const row = await db
      .selectFrom('correlation_run')
      .select('id')
      .where('status', '=', 'succeeded')
      // A report's own run (its period, its as-of) is not the current state.
      .where('purpose', '=', 'current')
      .orderBy(sql`finished_at desc nulls last`)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.id;
  };
  return {
    latestCorrelationRunId: (): Promise<number | undefined> => changes.cached('correlation_run', 'latest', latestRun),

    /** Newest first: by generated_at, then id (both descending). */
    async listReports(limit: number, after?: { generatedAt: Date; id: string }): Promise<ReportListRow[]> {
      let query = db
        .selectFrom('report')
        .select(['id', 'framework', 'period_from', 'period_to', 'as_of', 'generated_at', 'provisional', 'content_sha256'])
        .orderBy('generated_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit);
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('generated_at', '<', after.generatedAt),
            eb.and([eb('generated_at', '=', after.generatedAt), eb('id', '<', after.id)]),
          ]),
        );
      }
      return (await query.execute()) as ReportListRow[];
    },

    async reportContent(id: string): Promise<{ content: unknown; contentSha256: string } | undefined> {
      const row = await db.selectFrom('report').select(['content', 'content_sha256']).where('id', '=', id).executeTakeFirst();
      return row ? { content: row.content as unknown, contentSha256: row.content_sha256 } : undefined;
    },

    /** A stored report's served JSON (see migration 0011) and its ETag; `undefined` for
     *  an unknown id, `json: null` when it has not been written yet. With `etagOnly` the
     *  body is not read (a conditional request that will answer 304 needs only the tag). */
    async reportJson(id: string, etagOnly = false): Promise<{ json: string | null; sha256: string | null } | undefined> {
      const read = async () => {
        const row = await sql<{ json: string | null; sha256: string | null }>`
          select ${etagOnly ? sql`null::text` : sql`content_json`} as json, content_json_sha256 as sha256
          from report where id = ${id}`.execute(db);
        return row.rows[0];
      };
      // The tag alone is what every request reads; the body is kept by the route.
      return etagOnly ? changes.cached('report', id, read) : read();
    },

    /** Writes a report's served JSON once: a row that already has it keeps it (two first
     *  reads at once write the same bytes; the first one wins). */
    async storeReportJson(id: string, json: string, sha256: string): Promise<void> {
      await sql`update report set content_json = ${json}, content_json_sha256 = ${sha256}
        where id = ${id} and content_json is null`.execute(db);
      changes.invalidate('report');
    },

    /** Findings of a run by id (ascending), filtered; `to` is exclusive. */
    async listFindings(runId: number, filter: FindingFilter, limit: number, afterId?: string) {
      return findingsOf(db, runId, filter, limit, afterId).select(FINDING_COLUMNS).execute();
    },

    /** The same findings as the API's JSON, one text per finding (src/correlation/finding-json.ts). */
    async listFindingsJson(runId: number, filter: FindingFilter, limit: number, afterId?: string) {
      return findingsOf(db, runId, filter, limit, afterId)
        .select(['id', storedFindingJson.as('json')])
        .execute();
    },

    /** Identity links of a run with each account's latest known e-mail, by (source, account). */
    async listAccounts(
      runId: number,
      limit: number,
      options: { after?: { sourceId: string; accountId: number }; personId?: string; status?: string } = {},
    ) {
      let query = db
        .selectFrom('identity_link as l')
        .leftJoinLateral(
          (eb) =>
            eb
              .selectFrom('metabase_account_version as v')
              .select(['v.email', 'v.is_active', 'v.present'])
              .whereRef('v.source_id', '=', 'l.metabase_source_id')
              .where('v.upstream_id', '=', sql<string>`l.account_id::text`)
              .orderBy('v.observed_at', 'desc')
              .limit(1)
              .as('latest'),
          (join) => join.onTrue(),
        )
        .select([
          'l.metabase_source_id',
          'l.account_id',
          'l.status',
          'l.person_id',
          'l.entra_source_id',
          'l.method',
          'l.matched_value',
          'latest.email',
          'latest.is_active',
          'latest.present',
        ])
        .where('l.run_id', '=', runId)
        .orderBy('l.metabase_source_id')
        .orderBy('l.account_id')
        .limit(limit);
      if (options.personId !== undefined) query = query.where('l.person_id', '=', options.personId);
      if (options.status !== undefined) query = query.where('l.status', '=', options.status as 'linked');
      const after = options.after;
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('l.metabase_source_id', '>', after.sourceId),
            eb.and([eb('l.metabase_source_id', '=', after.sourceId), eb('l.account_id', '>', after.accountId)]),
          ]),
        );
      }
      return query.execute();
    },

    /** A person's latest directory version (UPN, enabled), if the store has one. */
    async personDirectoryEntry(personId: string) {
      return db
        .selectFrom('entra_user_version')
        .select(['source_id', 'user_principal_name', 'mail', 'account_enabled', 'present', 'observed_at'])
        .where('upstream_id', '=', personId)
        .orderBy('observed_at', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    /** The person's most recent Metabase logins as matched by the run. */
    async recentLogins(runId: number, personId: string, limit: number) {
      return db
        .selectFrom('login_match')
        .select([
          'metabase_source_id',
          'login_id',
          'login_at',
          'account_id',
          'sign_in_id',
          'sign_in_at',
          'lag_seconds',
          'same_ip',
          'outcome',
        ])
        .where('run_id', '=', runId)
        .where('person_id', '=', personId)
        .orderBy('login_at', 'desc')
        .orderBy('login_id', 'desc')
        .limit(limit)
        .execute();
    },

    async collectionRun(id: number) {
      return db.selectFrom('collection_run').select(COLLECTION_RUN_COLUMNS).where('id', '=', id).executeTakeFirst();
    },

    /** The latest collection runs, newest first. */
    async collectionRuns(limit: number) {
      return db.selectFrom('collection_run').select(COLLECTION_RUN_COLUMNS).orderBy('id', 'desc').limit(limit).execute();
    },

    /** The streams each source has ever recorded coverage for (the inventory answers per
     *  stream), by source and stream: the coverage route and the console's coverage page. */
    async coveredStreams(): Promise<{ source_id: string; stream: string }[]> {
      return db.selectFrom('coverage_window').select(['source_id', 'stream']).distinct().orderBy('source_id').orderBy('stream').execute();
    },
  };
}

export type ReadRepository = ReturnType<typeof createReadRepository>;
