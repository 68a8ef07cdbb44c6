// Reads a Metabase application database (any version v45…v61) into the store.
// - Discovery at run time: which tables and columns exist (information_schema), each
//   wanted table probed, so "absent in this version" (recorded as not available) is told
//   apart from "present but not granted" (stops the run with UPSTREAM_PERMISSION).
// - Logs (login_history, query_execution, view_log, audit_log) are read by keyset on id
//   (`id > last order by id limit N`) from the per-table checkpoint, never whole; ids
//   are the ordering truth (a login row can arrive late with an older timestamp).
// - core_session and auth_identity are small and mutable: read whole (in batches) each run.
// - Directory state (users, groups, memberships, API keys) is one snapshot per run,
//   read inside one REPEATABLE READ, READ ONLY transaction; complete only when read to
//   the end, so a failed run never tombstones anybody.
import { capabilities, streams } from '../../store/streams.js';
import type { EventRecord, EventTableName } from '../../store/tables.js';
import type { CollectContext, CollectOptions, Mapped, StreamSummary } from '../types.js';
import { type AppDb, appDbError, isMissingTable, type Row } from './app-db.js';
import {
  mapAuditEvent,
  mapAuthIdentity,
  mapLogin,
  mapQueryExecution,
  mapSession,
  mapView,
  parseMetabaseInstant,
  plainRow,
  secretColumns,
  sha256Hex,
} from './mapping.js';
import { emptySummary, eventWrite, mapBatch, type SnapshotStream, snapshotStreams, writeBatch, writeSnapshot } from './sink.js';

export const wantedTables = [
  'core_user',
  'login_history',
  'core_session',
  'auth_identity',
  'query_execution',
  'view_log',
  'audit_log',
  'permissions_group',
  'permissions_group_membership',
  'api_key',
] as const;
export type WantedTable = (typeof wantedTables)[number];

/** Columns whose presence changes what the rules can evaluate. */
export const notableColumns: ReadonlyArray<[WantedTable, string]> = [
  ['core_user', 'type'],
  ['core_user', 'deactivated_at'],
  ['core_session', 'auth_identity_id'],
  ['query_execution', 'auth_method'],
  ['query_execution', 'ip_address'],
  ['view_log', 'has_access'],
  ['view_log', 'auth_method'],
  // The API lacks these (metabaseApiLimits in src/store/streams.ts); the database has them since v49.
  // (api_key.scope is not listed: the database shows every key, scoped or not.)
  ['api_key', 'user_id'],
  ['api_key', 'creator_id'],
  ['api_key', 'key_prefix'],
];

export interface Discovery {
  /** Readable tables and their columns. */
  tables: Map<WantedTable, string[]>;
  missing: WantedTable[];
  /** Major version from Liquibase's newest changeset id (`v50.…`), when readable. */
  changesetVersion: number | null;
  /** Lowest version consistent with the columns found. */
  inferredVersion: number;
  /** Earliest of the first Liquibase migration and the first account (the instance's age). */
  firstActivityAt: Date | null;
  /** `setting.value` of `audit-max-retention-days`, when the row exists and is readable. */
  retentionSetting: string | null;
  settingReadable: boolean;
}

export async function discover(db: AppDb): Promise<Discovery> {
  const marks = wantedTables.map(() => '?').join(', ');
  const schema = db.dialect === 'postgres' ? 'current_schema()' : 'database()';
  let columnRows: Row[];
  try {
    columnRows = await db.query(
      `select table_name as t, column_name as c from information_schema.columns where table_schema = ${schema} and table_name in (${marks}) order by table_name, ordinal_position`,
      wantedTables,
    );
  } catch (error) {
    throw appDbError(error, db.location);
  }
  const seen = new Map<string, string[]>();
  for (const row of columnRows) {
    const table = String(row['t'] ?? row['T'] ?? row['TABLE_NAME']);
    const column = String(row['c'] ?? row['C'] ?? row['COLUMN_NAME']);
    const list = seen.get(table) ?? [];
    list.push(column);
    seen.set(table, list);
  }
  const tables = new Map<WantedTable, string[]>();
  const missing: WantedTable[] = [];
  for (const table of wantedTables) {
    // information_schema hides tables the user has no privilege on: probe each table to
    // tell "absent" from "not granted".
    try {
      await db.query(`select 1 from ${db.quote(table)} where 1 = 0`);
    } catch (error) {
      if (isMissingTable(error)) {
        missing.push(table);
        continue;
      }
      throw appDbError(error, db.location, table);
    }
    const columns = seen.get(table);
    if (!columns || columns.length === 0)
      throw appDbError({ code: '42501', message: `no readable columns in ${table}` }, db.location, table);
    tables.set(table, columns);
  }
  // Liquibase's table: lower-case on Postgres/H2, upper-case `DATABASECHANGELOG` on
  // MySQL/MariaDB (case-sensitive table names there), so both spellings are tried.
  let changesetVersion: number | null = null;
  let installedAt: Date | null = null;
  for (const changelog of db.dialect === 'postgres' ? ['databasechangelog'] : ['DATABASECHANGELOG', 'databasechangelog']) {
    try {
      const [last] = await db.query(
        `select ${db.quote('id')} as id from ${db.quote(changelog)} order by ${db.quote('orderexecuted')} desc limit 1`,
      );
      const match = /^v(\d+)\./.exec(String(last?.['id'] ?? ''));
      changesetVersion = match ? Number(match[1]) : null;
      const [first] = await db.query(`select min(${db.quote('dateexecuted')}) as t from ${db.quote(changelog)}`);
      installedAt = parseMetabaseInstant(first?.['t']);
      break;
    } catch {
      // Optional fact: absent under this spelling, or the collector's role may not read it.
    }
  }
  // The retention setting, when stored in the database. Only this one key is read: the
  // setting table also holds secrets (SMTP passwords, SSO keys).
  let retentionSetting: string | null = null;
  let settingReadable = false;
  try {
    const rows = await db.query(`select ${db.quote('value')} as v from ${db.quote('setting')} where ${db.quote('key')} = ?`, [
      'audit-max-retention-days',
    ]);
    settingReadable = true;
    retentionSetting = rows[0]?.['v'] === undefined || rows[0]?.['v'] === null ? null : String(rows[0]['v']);
  } catch {
    // Not granted or absent: the retention falls back to configuration or Metabase's default.
  }
  let firstUserAt: Date | null = null;
  if (seen.get('core_user')?.includes('date_joined')) {
    try {
      const [row] = await db.query(
        `select min(${db.quote('date_joined')}) as t from ${db.quote('core_user')} where ${db.quote('id')} <> ?`,
        [13371338],
      );
      firstUserAt = parseMetabaseInstant(row?.['t']);
    } catch {
      // Checked again (with a clear error) when core_user is read.
    }
  }
  const candidates = [installedAt, firstUserAt].filter((d): d is Date => d !== null && !Number.isNaN(d.getTime()));
  const firstActivityAt = candidates.length ? new Date(Math.min(...candidates.map((d) => d.getTime()))) : null;
  const has = (table: WantedTable, column?: string) => (column ? (tables.get(table) ?? []).includes(column) : tables.has(table));
  const inferredVersion = has('query_execution', 'auth_method')
    ? 60
    : has('auth_identity')
      ? 58
      : has('core_session', 'key_hashed')
        ? 54
        : has('core_user', 'deactivated_at')
          ? 53
          : has('core_user', 'entity_id')
            ? 50
            : has('api_key') || has('core_user', 'type')
              ? 49
              : has('audit_log')
                ? 48
                : 45;
  return { tables, missing, changesetVersion, inferredVersion, firstActivityAt, retentionSetting, settingReadable };
}

export interface DbReadTuning {
  batchRows: number;
}

interface LogCheckpoint {
  lastId: number | string | null;
  /** Time of the newest row read (the row with lastId; for sessions the newest created_at). */
  lastRowAt: string | null;
  /** End of the covered range so far. */
  coveredTo: string | null;
}

interface LogSpec {
  table: WantedTable;
  stream: string;
  summaryName: string;
  timeColumn: string;
  eventTable: EventTableName;
  map: (row: Row, now: Date) => Mapped<EventRecord>;
  /** incremental: keyset from the checkpoint; whole: the whole (small) table every run. */
  mode: 'incremental' | 'whole';
  /** Coverage is kept for this stream. */
  coverage: boolean;
  /** Columns dropped from a quarantined row's payload. */
  hide: readonly string[];
  upstreamIdOf: (row: Row) => string | null;
}

const byId = (row: Row) => (row['id'] === undefined || row['id'] === null ? null : String(row['id']));

const logSpecs: LogSpec[] = [
  {
    table: 'login_history',
    stream: streams.metabaseLogins,
    summaryName: streams.metabaseLogins,
    timeColumn: 'timestamp',
    eventTable: 'metabase_login',
    map: mapLogin,
    mode: 'incremental',
    coverage: true,
    hide: ['session_id'],
    upstreamIdOf: byId,
  },
  {
    table: 'core_session',
    stream: streams.metabaseSessions,
    summaryName: streams.metabaseSessions,
    timeColumn: 'created_at',
    eventTable: 'metabase_session',
    map: mapSession,
    mode: 'whole',
    coverage: true,
    hide: ['id', ...(secretColumns['core_session'] ?? [])],
    upstreamIdOf: (row) => (row['id'] === undefined ? null : sha256Hex(String(row['id']))),
  },
  {
    table: 'auth_identity',
    stream: 'metabase-auth-identities',
    summaryName: 'metabase-auth-identities',
    timeColumn: 'created_at',
    eventTable: 'metabase_auth_identity',
    map: mapAuthIdentity,
    mode: 'whole',
    coverage: false,
    hide: secretColumns['auth_identity'] ?? [],
    upstreamIdOf: byId,
  },
  {
    table: 'query_execution',
    stream: streams.metabaseQueryExecutions,
    summaryName: streams.metabaseQueryExecutions,
    timeColumn: 'started_at',
    eventTable: 'metabase_query_execution',
    map: mapQueryExecution,
    mode: 'incremental',
    coverage: true,
    hide: [],
    upstreamIdOf: byId,
  },
  {
    table: 'view_log',
    stream: streams.metabaseViews,
    summaryName: streams.metabaseViews,
    timeColumn: 'timestamp',
    eventTable: 'metabase_view',
    map: mapView,
    mode: 'incremental',
    coverage: true,
    hide: [],
    upstreamIdOf: byId,
  },
  {
    table: 'audit_log',
    stream: streams.metabaseAuditEvents,
    summaryName: streams.metabaseAuditEvents,
    timeColumn: 'timestamp',
    eventTable: 'metabase_audit_event',
    map: mapAuditEvent,
    mode: 'incremental',
    coverage: true,
    hide: [],
    upstreamIdOf: byId,
  },
];

/** The application-database table each state stream is read from. */
const snapshotTables: ReadonlyArray<{ table: WantedTable; stream: SnapshotStream }> = [
  { table: 'core_user', stream: snapshotStreams.accounts },
  { table: 'permissions_group', stream: snapshotStreams.groups },
  { table: 'permissions_group_membership', stream: snapshotStreams.memberships },
  { table: 'api_key', stream: snapshotStreams.apiKeys },
];

/** One read of an application database: the connection, the source it is collected as,
 *  what discovery found there, and the batch size. */
export interface AppDbRead {
  db: AppDb;
  sourceId: string;
  discovery: Discovery;
  tuning: DbReadTuning;
}

/** The summary of a stream whose table this Metabase version does not have. */
function absentTable(table: string, stream: string): StreamSummary {
  const summary = emptySummary(stream);
  summary.notes.push(`table ${table} does not exist in this Metabase version: not available`);
  return summary;
}

/** Records which tables and notable columns this instance has. */
export async function recordCapabilities(context: CollectContext, sourceId: string, discovery: Discovery): Promise<void> {
  const version = discovery.changesetVersion ?? discovery.inferredVersion;
  for (const table of wantedTables) {
    const present = discovery.tables.has(table);
    await context.collection.setCapability(
      sourceId,
      capabilities.metabaseTable(table),
      present,
      present ? null : `table ${table} does not exist in this Metabase application database (version ${version})`,
      context.runId,
    );
  }
  for (const [table, column] of notableColumns) {
    const present = (discovery.tables.get(table) ?? []).includes(column);
    await context.collection.setCapability(
      sourceId,
      capabilities.metabaseColumn(table, column),
      present,
      present ? null : `column ${table}.${column} does not exist in this Metabase version (${version})`,
      context.runId,
    );
  }
  await context.collection.setCapability(
    sourceId,
    capabilities.metabaseLoginHistory,
    discovery.tables.has('login_history'),
    discovery.tables.has('login_history') ? null : 'table login_history does not exist',
    context.runId,
  );
}

function selectList(db: AppDb, table: WantedTable, columns: readonly string[]): string {
  const hidden = secretColumns[table] ?? [];
  // core_session.id is needed (to hash it); it is never stored.
  return columns
    .filter((column) => !hidden.includes(column))
    .map((column) => db.quote(column))
    .join(', ');
}

interface Batch {
  rows: Row[];
  /** When the query was sent: the instant up to which the table was read when this batch came back short. */
  askedAt: Date;
}

export async function collectDbStreams(context: CollectContext, options: CollectOptions, read: AppDbRead): Promise<StreamSummary[]> {
  const summaries: StreamSummary[] = [];
  for (const spec of logSpecs) {
    const columns = read.discovery.tables.get(spec.table);
    const summary = columns ? emptySummary(spec.summaryName) : absentTable(spec.table, spec.summaryName);
    if (columns) await collectLogTable(context, options, read, spec, columns, summary);
    summaries.push(summary);
    context.progress.done(spec.summaryName, summary);
  }
  return summaries;
}

async function collectLogTable(
  context: CollectContext,
  options: CollectOptions,
  read: AppDbRead,
  spec: LogSpec,
  columns: readonly string[],
  summary: StreamSummary,
): Promise<void> {
  const { db, sourceId, tuning } = read;
  const { collection } = context;
  const q = db.quote;
  const time = q(spec.timeColumn);
  const table = q(spec.table);
  const checkpoint = await collection.getCheckpoint<LogCheckpoint>(sourceId, spec.stream);

  // Retention: the oldest row still held. For id-ordered logs the lowest id (cheap on the
  // primary key, and retention deletes oldest first); for sessions the oldest created_at.
  let oldestAt: Date | null = null;
  try {
    const [oldest] =
      spec.mode === 'incremental'
        ? await db.query(`select ${time} as t from ${table} order by ${q('id')} limit 1`)
        : await db.query(`select min(${time}) as t from ${table}`);
    oldestAt = parseMetabaseInstant(oldest?.['t']);
  } catch (error) {
    throw appDbError(error, db.location, spec.table);
  }
  if (oldestAt && Number.isNaN(oldestAt.getTime())) oldestAt = null;
  if (spec.coverage) await collection.recordRetention(sourceId, spec.stream, oldestAt, context.runId);

  let coverageFrom: Date | null = checkpoint?.coveredTo ? new Date(checkpoint.coveredTo) : checkpoint ? null : (options.since ?? null);
  const lastCollected = checkpoint?.lastRowAt ? new Date(checkpoint.lastRowAt) : null;
  if (spec.coverage && oldestAt) {
    const reference = lastCollected ?? (checkpoint ? null : (options.since ?? null));
    if (reference && oldestAt.getTime() > reference.getTime()) {
      summary.notes.push(
        `${spec.table}: the oldest row Metabase still holds (${oldestAt.toISOString()}) is later than ${lastCollected ? 'the last row collected' : 'the requested start'} (${reference.toISOString()}); rows in between may have been deleted by retention, so coverage is not claimed before ${oldestAt.toISOString()}`,
      );
      if (!coverageFrom || coverageFrom.getTime() < oldestAt.getTime()) coverageFrom = oldestAt;
    }
    coverageFrom ??= oldestAt;
  } else if (spec.coverage && !oldestAt && !lastCollected && (spec.table === 'audit_log' || spec.table === 'view_log')) {
    // Edition gating: OSS and Cloud Starter have these tables but never write them, so an
    // empty table is no evidence that nothing happened.
    const reason = `${spec.table} exists but holds no rows: Metabase writes it only with the audit-app feature (Pro/Enterprise or Cloud)`;
    summary.notes.push(`${reason}; no coverage claimed`);
    await collection.setCapability(sourceId, capabilities.metabaseTable(spec.table), false, reason, context.runId);
    coverageFrom = null;
  } else if (spec.coverage && !oldestAt && lastCollected) {
    summary.notes.push(
      `${spec.table} is empty now although rows were collected before (retention or purge): no coverage claimed for this run`,
    );
    coverageFrom = null;
  }

  const until = options.until ?? null;
  const sinceFilter = !checkpoint && options.since && spec.mode === 'incremental';
  const cols = selectList(db, spec.table, columns);
  // null: from the first row (ids may be integers or, for core_session, strings).
  const startAfter: number | string | null = spec.mode === 'incremental' ? (checkpoint?.lastId ?? null) : null;
  const fetch = async (after: number | string | null): Promise<Batch> => {
    const askedAt = context.now();
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (after !== null) {
      conditions.push(`${q('id')} > ?`);
      params.push(after);
    }
    if (sinceFilter) {
      conditions.push(`${time} >= ?`);
      params.push(options.since);
    }
    try {
      const rows = await db.query(
        `select ${cols} from ${table}${conditions.length ? ` where ${conditions.join(' and ')}` : ''} order by ${q('id')} limit ${Math.floor(tuning.batchRows)}`,
        params,
      );
      return { rows, askedAt };
    } catch (error) {
      throw appDbError(error, db.location, spec.table);
    }
  };

  let lastId: number | string | null = spec.mode === 'incremental' ? (checkpoint?.lastId ?? null) : null;
  let lastRowAt: Date | null = spec.mode === 'incremental' ? lastCollected : null;
  let readTo: Date = context.now();
  let stoppedAtUntil = false;
  let pending: Promise<Batch> | null = fetch(startAfter);
  while (pending) {
    const batch: Batch = await pending;
    pending = null;
    let rows = batch.rows;
    const full = rows.length >= tuning.batchRows;
    if (until) {
      const cut = rows.findIndex((row) => {
        const at = parseMetabaseInstant(row[spec.timeColumn]);
        return at !== null && at.getTime() > until.getTime();
      });
      if (cut >= 0 && spec.mode === 'incremental') {
        rows = rows.slice(0, cut);
        stoppedAtUntil = true;
      } else if (cut >= 0) {
        rows = rows.filter((row) => (parseMetabaseInstant(row[spec.timeColumn])?.getTime() ?? 0) <= until.getTime());
      }
    }
    // Read the next batch while this one is written.
    if (full && !stoppedAtUntil) pending = fetch(batch.rows[batch.rows.length - 1]!['id'] as number | string);
    else readTo = batch.askedAt;

    const now = context.now();
    const mapped = mapBatch(
      rows,
      (row) => spec.map(row, now),
      (row) => plainRow(row, spec.hide),
      spec.upstreamIdOf,
    );
    await writeBatch(context, sourceId, spec.stream, rows.length, mapped, summary, eventWrite(context, sourceId, spec.eventTable));
    const last = rows[rows.length - 1];
    if (last) {
      if (spec.mode === 'incremental') {
        lastId = last['id'] as number | string;
        lastRowAt = parseMetabaseInstant(last[spec.timeColumn]) ?? lastRowAt;
      } else {
        for (const row of rows) {
          const at = parseMetabaseInstant(row[spec.timeColumn]);
          if (at && !Number.isNaN(at.getTime()) && (!lastRowAt || at > lastRowAt)) lastRowAt = at;
        }
      }
      if (spec.mode === 'incremental') {
        await collection.saveCheckpoint(
          sourceId,
          spec.stream,
          // Mid-run: coverage still ends where it ended (or at this run's start), so a
          // crash resumes from lastId without claiming the rows it never read.
          {
            lastId,
            lastRowAt: lastRowAt?.toISOString() ?? null,
            coveredTo: checkpoint?.coveredTo ?? coverageFrom?.toISOString() ?? null,
          } satisfies LogCheckpoint,
          context.runId,
        );
      }
    }
    context.progress.update(spec.summaryName, {
      records: summary.records,
      ...(coverageFrom && lastRowAt && lastRowAt >= coverageFrom ? { window: { from: coverageFrom, to: lastRowAt } } : {}),
    });
  }

  if (!spec.coverage) return;
  let coveredTo = stoppedAtUntil && until ? until : readTo;
  if (until && until.getTime() < coveredTo.getTime()) coveredTo = until;
  if (coverageFrom && coveredTo.getTime() >= coverageFrom.getTime()) {
    const range = { from: coverageFrom, to: coveredTo };
    await collection.addCoverage(sourceId, spec.stream, range, context.runId, {
      table: spec.table,
      lastId,
      basis: 'all rows with id <= lastId',
    });
    summary.coverage.push(range);
  }
  const previousEnd = checkpoint?.coveredTo ? new Date(checkpoint.coveredTo) : null;
  const nextEnd = coverageFrom ? coveredTo : (previousEnd ?? coveredTo);
  await collection.saveCheckpoint(
    sourceId,
    spec.stream,
    { lastId, lastRowAt: lastRowAt?.toISOString() ?? null, coveredTo: nextEnd.toISOString() } satisfies LogCheckpoint,
    context.runId,
  );
}

/** One snapshot per state table, all read in one consistent read-only transaction. */
export async function collectDbSnapshots(context: CollectContext, read: AppDbRead): Promise<StreamSummary[]> {
  const summaries: StreamSummary[] = [];
  await read.db.readOnlyTransaction(async () => {
    const observedAt = context.now();
    for (const { table, stream } of snapshotTables) {
      const columns = read.discovery.tables.get(table);
      if (!columns) {
        summaries.push(absentTable(table, stream.name));
        continue;
      }
      const pages = tablePages(read, table, columns);
      summaries.push(
        await writeSnapshot(context, read.sourceId, stream, observedAt, pages, (row) => plainRow(row, secretColumns[table] ?? []), byId),
      );
    }
  });
  return summaries;
}

/** A whole table in pages of `batchRows` rows, by id (`id > last order by id`). */
async function* tablePages(read: AppDbRead, table: WantedTable, columns: readonly string[]): AsyncIterable<Row[]> {
  const { db, tuning } = read;
  const cols = selectList(db, table, columns);
  let after = 0;
  for (;;) {
    let rows: Row[];
    try {
      rows = await db.query(
        `select ${cols} from ${db.quote(table)} where ${db.quote('id')} > ? order by ${db.quote('id')} limit ${Math.floor(tuning.batchRows)}`,
        [after],
      );
    } catch (error) {
      throw appDbError(error, db.location, table);
    }
    yield rows;
    if (rows.length < tuning.batchRows) break;
    after = Number(rows[rows.length - 1]!['id']);
  }
}
