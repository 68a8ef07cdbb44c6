// Builds a Metabase application database (real schema of a version, see schema.ts) in a
// real Postgres or MySQL/MariaDB database and loads a dataset into it. Used by the
// tests, the demo and the benchmark.
import mysql from 'mysql2/promise';
import pg from 'pg';

import { datasetTables, type MetabaseDataset, type MetabaseTableName } from './dataset.js';
import {
  type AppDbDialect,
  changelogTable,
  columnsOf,
  lastChangeset,
  type MetabaseVersion,
  partitionStatement,
  schemaStatements,
} from './schema.js';

export interface CreateAppDatabaseOptions {
  /** An empty database: postgres://… or mysql://… (the MySQL database is created if missing). */
  url: string;
  version: MetabaseVersion;
  dataset: MetabaseDataset;
  /** When Metabase first migrated this database (DATABASECHANGELOG.DATEEXECUTED); default now. */
  installedAt?: Date;
}

const timeColumns = new Set([
  'date_joined',
  'last_login',
  'updated_at',
  'deactivated_at',
  'timestamp',
  'created_at',
  'expires_at',
  'last_used_at',
  'started_at',
  'end_timestamp',
]);
const byteColumns = new Set(['hash', 'cache_hash']);

export function dialectOf(url: string): AppDbDialect {
  const protocol = new URL(url).protocol;
  if (protocol === 'postgres:' || protocol === 'postgresql:') return 'postgres';
  if (protocol === 'mysql:' || protocol === 'mariadb:') return 'mysql';
  throw new Error(`unsupported application database URL scheme ${protocol}`);
}

/** A minimal admin connection over either engine (fixtures only). */
export interface FixtureConnection {
  readonly dialect: AppDbDialect;
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function connectFixture(url: string): Promise<FixtureConnection> {
  const dialect = dialectOf(url);
  if (dialect === 'postgres') {
    const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
    await client.connect();
    return {
      dialect,
      async query(text, params = []) {
        return (await client.query(text, params)).rows as Record<string, unknown>[];
      },
      close: () => client.end(),
    };
  }
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const base = {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    timezone: 'Z' as const,
  };
  if (database) {
    const admin = await mysql.createConnection(base);
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '')}\``);
    await admin.end();
  }
  const connection = await mysql.createConnection({ ...base, database: database || undefined });
  await connection.query("SET time_zone = '+00:00'");
  return {
    dialect,
    async query(text, params = []) {
      const [rows] = await connection.query(text, params);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    close: () => connection.end(),
  };
}

function toValue(column: string, value: unknown, dialect: AppDbDialect): unknown {
  if (value === undefined || value === null) return null;
  if (timeColumns.has(column)) return value instanceof Date ? value : new Date(String(value));
  if (byteColumns.has(column)) return typeof value === 'string' ? Buffer.from(value, 'hex') : Buffer.from(value as Uint8Array);
  if (typeof value === 'boolean' && dialect === 'mysql') return value ? 1 : 0;
  return value;
}

function monthsOf(times: readonly Date[]): Array<[number, number]> {
  const seen = new Map<string, [number, number]>();
  for (const time of times) {
    const key = `${time.getUTCFullYear()}-${time.getUTCMonth() + 1}`;
    if (!seen.has(key)) seen.set(key, [time.getUTCFullYear(), time.getUTCMonth() + 1]);
  }
  return [...seen.values()];
}

/** Creates the schema of `version` and loads `dataset`. */
export async function createMetabaseAppDatabase(options: CreateAppDatabaseOptions): Promise<void> {
  const connection = await connectFixture(options.url);
  try {
    for (const statement of schemaStatements(options.version, connection.dialect)) await connection.query(statement);
    // Two rows: the install (its date is the instance's first activity) and the newest changeset.
    const installedAt = options.installedAt ?? new Date();
    const table = changelogTable(connection.dialect);
    const mark = (n: number) => (connection.dialect === 'postgres' ? `$${n}` : '?');
    await connection.query(
      `insert into ${table} (id, author, filename, dateexecuted, orderexecuted, exectype) values (${mark(1)}, 'metabase', 'migrations/000_legacy_migrations.yaml', ${mark(2)}, 1, 'EXECUTED'), (${mark(3)}, 'metabase', 'migrations/001_update_migrations.yaml', ${mark(4)}, 2, 'EXECUTED')`,
      ['1', installedAt, lastChangeset[options.version], installedAt],
    );
    await insertRows(connection, options.version, options.dataset);
  } finally {
    await connection.close();
  }
}

/** Appends rows to an existing fixture (new logins, queries, ...), as Metabase would. */
export async function appendMetabaseRows(url: string, version: MetabaseVersion, rows: Partial<MetabaseDataset>): Promise<void> {
  const connection = await connectFixture(url);
  try {
    await insertRows(connection, version, rows);
  } finally {
    await connection.close();
  }
}

async function insertRows(connection: FixtureConnection, version: MetabaseVersion, dataset: Partial<MetabaseDataset>): Promise<void> {
  const { dialect } = connection;
  const quote = (name: string) => (dialect === 'postgres' ? `"${name}"` : `\`${name}\``);
  if (dialect === 'postgres' && version >= 60 && dataset.query_execution?.length) {
    const months = monthsOf(dataset.query_execution.map((r) => new Date(r.started_at)));
    for (const [year, month] of months) await connection.query(partitionStatement(year, month));
  }
  // core_session and auth_identity reference each other in v60: insert sessions after identities.
  for (const table of datasetTables) {
    const rows = (dataset[table] ?? []) as unknown as Record<string, unknown>[];
    if (rows.length === 0) continue;
    const available = columnsOf(table, version);
    if (!available) continue;
    const used = available.filter((column) => rows.some((row) => row[column] !== undefined));
    for (let offset = 0; offset < rows.length; offset += 500) {
      const chunk = rows.slice(offset, offset + 500);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => {
        const marks = used.map((column) => {
          // Absent in this row: let the column default apply (NOT NULL booleans, type, ...).
          if (row[column] === undefined) return 'DEFAULT';
          params.push(toValue(column, row[column], dialect));
          return dialect === 'postgres' ? `$${params.length}` : '?';
        });
        return `(${marks.join(', ')})`;
      });
      await connection.query(`insert into ${quote(table)} (${used.map(quote).join(', ')}) values ${tuples.join(', ')}`, params);
    }
    if (dialect === 'postgres' && table !== 'core_session' && table !== 'setting') await resetIdentity(connection, table);
  }
}

async function resetIdentity(connection: FixtureConnection, table: MetabaseTableName): Promise<void> {
  // Explicit ids leave the identity sequence behind; Metabase's next insert must not collide.
  // The internal user's id (13371338) is a fixed id, not a sequence value, so it is left out.
  await connection.query(
    `select setval(pg_get_serial_sequence('${table}', 'id'), coalesce((select max(id) from ${table} where id < 13371338), 0) + 1, false)`,
  );
}

export interface FillQueryExecutionsOptions {
  rows: number;
  from: Date;
  to: Date;
  executorIds: readonly number[];
  /** First id to use (default: after the current maximum). */
  firstId?: number;
}

/** Bulk-fills query_execution server-side (generate_series), for benchmarks: millions
 *  of rows in seconds instead of row-by-row inserts. Postgres only. */
export async function fillQueryExecutions(url: string, version: MetabaseVersion, options: FillQueryExecutionsOptions): Promise<void> {
  const connection = await connectFixture(url);
  try {
    if (connection.dialect !== 'postgres') throw new Error('fillQueryExecutions supports Postgres only');
    if (version >= 60) {
      const months: Array<[number, number]> = [];
      for (
        let d = new Date(Date.UTC(options.from.getUTCFullYear(), options.from.getUTCMonth(), 1));
        d <= options.to;
        d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))
      ) {
        months.push([d.getUTCFullYear(), d.getUTCMonth() + 1]);
      }
      for (const [year, month] of months) await connection.query(partitionStatement(year, month));
    }
    const [max] = await connection.query('select coalesce(max(id), 0)::int as max from query_execution');
    const first = options.firstId ?? Number(max?.['max'] ?? 0) + 1;
    const span = options.to.getTime() - options.from.getTime();
    const executors = `array[${options.executorIds.map((id) => Number(id)).join(',')}]::int[]`;
    const v60 = version >= 60 ? ', auth_method, ip_address' : '';
    const v60Values = version >= 60 ? ", case when g % 7 = 0 then 'saml' else 'password' end, '198.51.100.' || (g % 200)" : '';
    // Times grow with the id, as Metabase appends them.
    await connection.query(
      `insert into query_execution (id, hash, started_at, running_time, result_rows, native, context, executor_id, card_id, dashboard_id, database_id, cache_hit${v60})
       select g, sha256(g::text::bytea), $1::timestamptz + (((g - $3) * $4::float8 / $5) || ' milliseconds')::interval,
              (g % 5000), (g % 1000), g % 3 = 0, (array['ad-hoc','question','dashboard','csv-download'])[1 + g % 4],
              (${executors})[1 + g % ${options.executorIds.length}], 1 + g % 400, case when g % 2 = 0 then 1 + g % 50 end, 2, false${v60Values}
       from generate_series($3::int, $3::int + $2::int - 1) g`,
      [options.from.toISOString(), options.rows, first, span, Math.max(options.rows, 1)],
    );
    await connection.query("select setval(pg_get_serial_sequence('query_execution', 'id'), (select max(id) from query_execution))");
  } finally {
    await connection.close();
  }
}
