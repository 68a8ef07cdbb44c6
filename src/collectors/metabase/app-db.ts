// A read-only connection to Metabase's application database, Postgres (`pg`) or
// MySQL/MariaDB (`mysql2`), behind one small interface. Traps handled here:
// - every session is read-only (SET SESSION CHARACTERISTICS … READ ONLY) and in UTC,
//   so MySQL TIMESTAMP values (converted by the server to the session zone) and
//   Postgres `timestamp without time zone` columns (pre-v49) read as UTC instants;
// - MySQL booleans are BIT(1) (Liquibase's mapping) and arrive as bytes: cast them;
// - driver errors become one AppError line naming the database (never its password)
//   and the problem: unreachable, credentials refused, or a missing grant.
import mysql from 'mysql2/promise';
import pg from 'pg';

import { AppError } from '../../errors.js';
import { describeConnectionString } from '../../logger.js';

export type AppDbDialect = 'postgres' | 'mysql';
export type Row = Record<string, unknown>;

export interface AppDb {
  readonly dialect: AppDbDialect;
  /** scheme://host:port/database, no credentials. */
  readonly location: string;
  readonly host: string;
  readonly database: string;
  /** Runs one statement; `?` placeholders are rewritten to $n on Postgres. */
  query(text: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs `work` inside a REPEATABLE READ, READ ONLY transaction (one consistent view). */
  readOnlyTransaction<T>(work: () => Promise<T>): Promise<T>;
  quote(identifier: string): string;
  close(): Promise<void>;
}

const TIMESTAMP_OID = 1114;

export function appDbDialect(url: string): AppDbDialect {
  const protocol = new URL(url).protocol;
  return protocol === 'mysql:' || protocol === 'mariadb:' ? 'mysql' : 'postgres';
}

function toDollarParams(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

interface DriverError {
  code?: string | number;
  errno?: number;
  message?: string;
  errors?: DriverError[];
}

/** Maps a driver error to one clear line. `table` names what was being read. */
export function appDbError(error: unknown, location: string, table?: string): AppError {
  if (error instanceof AppError) return error;
  const e = (error ?? {}) as DriverError;
  const code = String(e.code ?? e.errors?.[0]?.code ?? '');
  const message = (e.message || e.errors?.[0]?.message || String(error)).replace(
    /postgres(ql)?:\/\/[^\s]+|mysql:\/\/[^\s]+/g,
    '(connection string)',
  );
  const where = `the Metabase application database at ${location} (METABASE_DB_URL)`;
  if (
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST'].includes(code) ||
    /timeout expired|Connection terminated/i.test(message)
  ) {
    return new AppError('UPSTREAM_UNAVAILABLE', `cannot reach ${where}: ${code || message}`, { cause: error });
  }
  // Postgres: 28P01 invalid_password, 28000 invalid_authorization_specification; MySQL 1045.
  if (code === '28P01' || code === '28000' || code === 'ER_ACCESS_DENIED_ERROR') {
    return new AppError('UPSTREAM_AUTH', `${where} refused the credentials: ${message}`, { cause: error });
  }
  // Postgres 3D000 invalid_catalog_name; MySQL 1049 unknown database.
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR') {
    return new AppError('UPSTREAM_UNAVAILABLE', `${where} does not exist: ${message}`, { cause: error });
  }
  // Postgres 42501 insufficient_privilege; MySQL 1142/1143 table/column access denied, 1044 database access denied.
  if (
    code === '42501' ||
    code === 'ER_TABLEACCESS_DENIED_ERROR' ||
    code === 'ER_COLUMNACCESS_DENIED_ERROR' ||
    code === 'ER_DBACCESS_DENIED_ERROR'
  ) {
    return new AppError(
      'UPSTREAM_PERMISSION',
      `the METABASE_DB_URL user may not read ${table ? `table ${table}` : 'the database'} at ${location}: ${message} (grant SELECT on it, see docs/metabase.md)`,
      { cause: error },
    );
  }
  return new AppError('UPSTREAM_BAD_RESPONSE', `reading ${table ? `table ${table} of ` : ''}${where} failed: ${message}`, { cause: error });
}

/** True when the error says the table does not exist (so: not available in this version). */
export function isMissingTable(error: unknown): boolean {
  const code = String((error as DriverError)?.code ?? '');
  return code === '42P01' || code === 'ER_NO_SUCH_TABLE';
}

export async function openAppDb(url: string): Promise<AppDb> {
  const dialect = appDbDialect(url);
  const location = describeConnectionString(url);
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return dialect === 'postgres' ? openPostgres(url, location, parsed.host, database) : openMysql(parsed, location, database);
}

async function openPostgres(url: string, location: string, host: string, database: string): Promise<AppDb> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    options: '-c TimeZone=UTC',
    types: {
      getTypeParser(oid: number, format?: 'text' | 'binary') {
        // `timestamp without time zone` (pre-v49 columns): Metabase wrote UTC; read as such.
        if (oid === TIMESTAMP_OID) return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
        return pg.types.getTypeParser(oid, format as 'text');
      },
    },
  });
  client.on('error', () => {
    // A dropped connection surfaces on the next query; nothing to do here.
  });
  try {
    await client.connect();
    await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
  } catch (error) {
    await client.end().catch(() => undefined);
    throw appDbError(error, location);
  }
  return {
    dialect: 'postgres',
    location,
    host,
    database,
    async query(text, params = []) {
      return (await client.query(toDollarParams(text), [...params])).rows as Row[];
    },
    async readOnlyTransaction(work) {
      // BEGIN and COMMIT fail like any read when the connection drops: name the database.
      await client
        .query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY')
        .catch((error: unknown) => Promise.reject(appDbError(error, location)));
      try {
        const result = await work();
        await client.query('COMMIT').catch((error: unknown) => Promise.reject(appDbError(error, location)));
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    quote: (identifier) => `"${identifier.replace(/"/g, '""')}"`,
    close: () => client.end(),
  };
}

async function openMysql(parsed: URL, location: string, database: string): Promise<AppDb> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({
      host: parsed.hostname,
      port: Number(parsed.port || 3306),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database,
      connectTimeout: 10_000,
      // The server converts TIMESTAMP to the session zone (set to UTC below); read those
      // wall-clock values as UTC too.
      timezone: 'Z',
      supportBigNumbers: true,
      typeCast(field, next) {
        if (field.type === 'BIT' && field.length === 1) {
          const bytes = field.buffer();
          return bytes === null ? null : bytes[0] === 1;
        }
        return next();
      },
    });
    await connection.query("SET time_zone = '+00:00'");
    await connection.query('SET SESSION TRANSACTION READ ONLY');
  } catch (error) {
    throw appDbError(error, location);
  }
  return {
    dialect: 'mysql',
    location,
    host: parsed.host,
    database,
    async query(text, params = []) {
      const [rows] = await connection.query(text, [...params]);
      return Array.isArray(rows) ? (rows as Row[]) : [];
    },
    async readOnlyTransaction(work) {
      const named = (error: unknown) => Promise.reject(appDbError(error, location));
      await connection.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ').catch(named);
      await connection.query('START TRANSACTION READ ONLY').catch(named);
      try {
        const result = await work();
        await connection.query('COMMIT').catch(named);
        return result;
      } catch (error) {
        await connection.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    quote: (identifier) => `\`${identifier.replace(/`/g, '``')}\``,
    close: () => connection.end(),
  };
}
