// The console's own reads, beside src/api/read.repository.ts (which it reuses for
// reports, findings lists, accounts and people). Route handlers hold no SQL; what they
// need and the API does not lives here.
import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';

import { createReadRepository } from '../api/read.repository.js';
import { FINDING_COLUMNS } from '../correlation/finding-json.js';
import { loadInventory } from '../correlation/inventory.js';
import { gapsIn, type TimeRange } from '../store/collection.repository.js';
import { storedRaw } from '../store/record-codec.js';
import type { Database } from '../store/schema.js';
import { eventTables } from '../store/tables.js';

/** Evidence kinds (the `source` of a finding's evidence reference) and the table that holds them. */
const EVIDENCE_TABLES = {
  'entra-sign-in': { table: 'entra_sign_in', kind: 'event' },
  'entra-directory-audit': { table: 'entra_directory_audit', kind: 'event' },
  'entra-user': { table: 'entra_user_version', kind: 'state' },
  'entra-credential': { table: 'entra_credential_version', kind: 'state' },
  'metabase-login': { table: 'metabase_login', kind: 'event' },
  'metabase-account': { table: 'metabase_account_version', kind: 'state' },
  'metabase-api-key': { table: 'metabase_api_key_version', kind: 'state' },
} as const;

export type EvidenceKind = keyof typeof EVIDENCE_TABLES;

/** Event tables whose records are packed (migration 0012): read through storedRaw. */
const packedTables = new Set<string>(Object.values(eventTables).flatMap((spec) => ('packed' in spec ? [spec.name] : [])));

/** A sign-in record's appDisplayName (Graph signIn), when it has one. */
function appDisplayName(raw: unknown): string | null {
  const name = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)['appDisplayName'] : undefined;
  return typeof name === 'string' && name !== '' ? name : null;
}

export interface EvidenceRecord {
  kind: string;
  table: string;
  sourceId: string;
  upstreamId: string;
  at: Date | null;
  batchId: number;
  collectedAt: Date | null;
  /** The upstream record exactly as collected (null for a state row that recorded absence). */
  raw: unknown;
}

export interface StreamCoverage {
  sourceId: string;
  kind: 'entra' | 'metabase';
  stream: string;
  coverage: TimeRange[];
  gaps: TimeRange[];
}

export interface TimelineEvent {
  lane: 'entra' | 'metabase';
  at: Date;
  what: string;
  ok: boolean;
  id: string;
}

type EventTable = 'entra_sign_in' | 'metabase_login' | 'metabase_query_execution';

/** The newest `limit` events of a query whose occurred_at lies in [from, to). */
function newestIn(range: TimeRange, limit: number) {
  return <O>(query: SelectQueryBuilder<Database, EventTable, O>): SelectQueryBuilder<Database, EventTable, O> =>
    query.where('occurred_at', '>=', range.from).where('occurred_at', '<', range.to).orderBy('occurred_at', 'desc').limit(limit);
}

function timelineEvent(
  lane: TimelineEvent['lane'],
  row: { upstream_id: string; occurred_at: Date | string },
  what: string,
  ok: boolean,
): TimelineEvent {
  return { lane, at: new Date(row.occurred_at), what, ok, id: row.upstream_id };
}

export function createConsoleRepository(
  db: Kysely<Database>,
  options: { metabaseAppIds: readonly string[]; adminGroupIds: readonly string[] },
) {
  return {
    /** One finding of a run, with its internal detail (the console's finding page shows it). */
    async findingById(runId: number, id: string) {
      return db
        .selectFrom('finding')
        .select([...FINDING_COLUMNS, 'detail'])
        .where('run_id', '=', runId)
        .where('id', '=', id)
        .executeTakeFirst();
    },

    /** Counts of a run's findings by rule and severity, last seen in [from, to). */
    async findingCounts(runId: number, from: Date, to: Date) {
      return db
        .selectFrom('finding')
        .select(['rule', 'severity', sql<number>`count(*)::int`.as('count')])
        .where('run_id', '=', runId)
        .where('last_seen', '>=', from)
        .where('last_seen', '<', to)
        .groupBy(['rule', 'severity'])
        .orderBy('rule')
        .execute();
    },

    async ruleIds(runId: number): Promise<string[]> {
      const rows = await db.selectFrom('rule_evaluation').select('rule').where('run_id', '=', runId).orderBy('rule').execute();
      return rows.map((r) => r.rule);
    },

    /** The records an evidence reference points to, each with its verbatim upstream record. */
    async evidenceRecords(kind: string, upstreamId: string, limit = 5): Promise<EvidenceRecord[]> {
      const target = EVIDENCE_TABLES[kind as EvidenceKind];
      if (!target) return [];
      const record = (
        row: { source_id: string; upstream_id: string; batch_id: number; raw: unknown; raw_packed?: unknown },
        at: Date | string,
        collectedAt: Date | null,
      ): EvidenceRecord => ({
        kind,
        table: target.table,
        sourceId: row.source_id,
        upstreamId: row.upstream_id,
        at: new Date(at),
        batchId: row.batch_id,
        collectedAt,
        raw: storedRaw(row),
      });
      // Credentials are referred to by key id; their rows are keyed by object id.
      if (target.table === 'entra_credential_version') {
        const rows = await db
          .selectFrom('entra_credential_version')
          .select(['source_id', 'upstream_id', 'observed_at', 'batch_id', 'raw'])
          .where((eb) => eb.or([eb('key_id', '=', upstreamId), eb('upstream_id', '=', upstreamId)]))
          .orderBy('observed_at', 'desc')
          .limit(limit)
          .execute();
        return rows.map((r) => record(r, r.observed_at, null));
      }
      if (target.kind === 'event') {
        const rows = await db
          .selectFrom(target.table as 'entra_sign_in')
          .select(['source_id', 'upstream_id', 'occurred_at', 'batch_id', 'first_collected_at', 'raw'])
          .select(packedTables.has(target.table) ? sql<Buffer | null>`raw_packed`.as('raw_packed') : sql<null>`null`.as('raw_packed'))
          .where('upstream_id', '=', upstreamId)
          .limit(limit)
          .execute();
        return rows.map((r) => record(r, r.occurred_at, new Date(r.first_collected_at)));
      }
      const rows = await db
        .selectFrom(target.table as 'entra_user_version')
        .select(['source_id', 'upstream_id', 'observed_at', 'batch_id', 'raw'])
        .where('upstream_id', '=', upstreamId)
        .orderBy('observed_at', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => record(r, r.observed_at, null));
    },

    async terminatedIntervals(runId: number, personId: string) {
      return db
        .selectFrom('person_terminated_interval')
        .select(['entra_source_id', 'started_at', 'ended_at', 'reason', 'approximate'])
        .where('run_id', '=', runId)
        .where('person_id', '=', personId)
        .orderBy('started_at')
        .execute();
    },

    async personName(personId: string): Promise<string | null> {
      const row = await db
        .selectFrom('entra_user_version')
        .select(sql<string | null>`raw->>'displayName'`.as('name'))
        .where('upstream_id', '=', personId)
        .orderBy('observed_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row?.name ?? null;
    },

    /** Entra sign-ins of a person and the Metabase logins and queries of their linked
     *  accounts, in [from, to), newest first, at most `limit` per lane. */
    async personTimeline(
      personId: string,
      accounts: { sourceId: string; accountId: number }[],
      range: TimeRange,
      limit = 400,
    ): Promise<TimelineEvent[]> {
      const signIns = await db
        .selectFrom('entra_sign_in')
        .select(['upstream_id', 'occurred_at', 'app_id', 'error_code', 'raw', 'raw_packed'])
        .where('user_id', '=', personId)
        .$call(newestIn(range, limit))
        .execute();
      const events = signIns.map((s) =>
        timelineEvent(
          'entra',
          s,
          `sign-in to ${appDisplayName(storedRaw(s)) ?? s.app_id ?? 'an application'}${s.error_code ? ` failed (error ${s.error_code})` : ''}`,
          !s.error_code,
        ),
      );
      for (const account of accounts) {
        const logins = await db
          .selectFrom('metabase_login')
          .select(['upstream_id', 'occurred_at'])
          .where('source_id', '=', account.sourceId)
          .where('user_id', '=', account.accountId)
          .$call(newestIn(range, limit))
          .execute();
        const queries = await db
          .selectFrom('metabase_query_execution')
          .select(['upstream_id', 'occurred_at', 'context', 'has_error'])
          .where('source_id', '=', account.sourceId)
          .where('executor_id', '=', account.accountId)
          .$call(newestIn(range, limit))
          .execute();
        events.push(
          ...logins.map((l) => timelineEvent('metabase', l, `Metabase login (account ${account.accountId})`, true)),
          ...queries.map((q) => timelineEvent('metabase', q, `query${q.context ? ` (${q.context})` : ''}`, q.has_error !== true)),
        );
      }
      return events.sort((a, b) => b.at.getTime() - a.at.getTime());
    },

    /** Streams whose checkpoint a run has moved so far: the progress of a running collection. */
    async runProgress(runId: number) {
      return db
        .selectFrom('stream_checkpoint')
        .select(['source_id', 'stream', 'updated_at'])
        .where('run_id', '=', runId)
        .orderBy('updated_at')
        .execute();
    },

    /** The newest stored report of a framework whose period reaches past `from`. */
    async latestReportSince(framework: string, from: Date) {
      return db
        .selectFrom('report')
        .select(['id', 'period_from', 'period_to', 'as_of', 'generated_at', 'provisional', 'content_sha256', 'content'])
        .where('framework', '=', framework)
        .where('period_to', '>', from)
        .orderBy('generated_at', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    async coverage(window: TimeRange): Promise<StreamCoverage[]> {
      const inventory = await loadInventory(db, { metabaseAppIds: [...options.metabaseAppIds], adminGroupIds: [...options.adminGroupIds] });
      const streams = await createReadRepository(db).coveredStreams();
      const kinds = new Map<string, 'entra' | 'metabase'>([
        ...inventory.entraSourceIds.map((id) => [id, 'entra'] as const),
        ...inventory.metabaseSourceIds.map((id) => [id, 'metabase'] as const),
      ]);
      return streams
        .filter((row) => kinds.has(row.source_id))
        .map((row) => {
          const coverage = inventory.coverage(row.source_id, row.stream);
          return { sourceId: row.source_id, kind: kinds.get(row.source_id)!, stream: row.stream, coverage, gaps: gapsIn(window, coverage) };
        });
    },
  };
}

export type ConsoleRepository = ReturnType<typeof createConsoleRepository>;
