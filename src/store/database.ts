// Opens the store: Postgres through `pg` when a connection string is given, else the
// embedded PGlite engine in the data folder. Both speak the same SQL and run the same
// migrations; every session runs in UTC so times and hashes agree across engines.
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

import { AppError } from '../errors.js';
import { describeConnectionString } from '../logger.js';
import { migrateToLatest, type MigrationOutcome } from './migrate.js';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './schema.js';

export type Engine = 'postgres' | 'pglite';

export interface Store {
  readonly db: Kysely<Database>;
  readonly engine: Engine;
  /** Where the store lives, without credentials (for messages). */
  readonly location: string;
  /** A connection of its own, outside the pool, for LISTEN (src/store/change-feed.ts);
   *  Postgres only: the embedded engine has one connection in all. */
  readonly newListenClient?: () => pg.Client;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Postgres connection string; when absent the embedded engine is used. */
  databaseUrl?: string | undefined;
  /** Folder of the embedded engine's files; 'memory://' keeps it in memory. */
  dataDir?: string;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  poolSize?: number;
}

const INT8_OID = 20;

// bigint columns hold ids and counts far below 2^53: read them as numbers on both engines.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export async function openStore(options: OpenStoreOptions): Promise<Store & { migration?: MigrationOutcome }> {
  const store = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options.poolSize ?? 10)
    : await openPglite(options.dataDir ?? './.accesstrail');
  if (options.migrate === false) return store;
  try {
    const migration = await migrateToLatest(store.db);
    return Object.assign(store, { migration });
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function openPostgres(connectionString: string, poolSize: number): Promise<Store> {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    types: pgTypes,
    options: '-c TimeZone=UTC -c DateStyle=ISO',
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on next use.
  });
  pool.on('connect', (client) => {
    // A connection lost while a client is checked out (between two statements of a
    // transaction, say) is emitted as 'error' on that client, which the pool does not
    // listen to then: without this listener the process dies of an unhandled event. The
    // statement in flight, or the next one, fails instead, and the caller reports it
    // (isStoreConnectionLoss below); the transaction is rolled back by the server.
    client.on('error', () => undefined);
  });
  const location = describeConnectionString(connectionString);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new AppError('STORE_UNAVAILABLE', `cannot connect to the store at ${location} (DATABASE_URL): ${(error as Error).message}`, {
      cause: error,
    });
  }
  // Errors of this store's connections are remembered (by identity), so a lost store
  // connection is told apart from a lost upstream one (the Metabase database is Postgres too).
  const storePool = {
    connect: () => pool.connect().catch((error: unknown) => Promise.reject(markStoreError(error))),
    end: () => pool.end(),
  };
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: storePool }),
    log: (event) => {
      if (event.level === 'error') markStoreError(event.error);
    },
  });
  const newListenClient = () =>
    new pg.Client({
      connectionString,
      options: '-c TimeZone=UTC -c DateStyle=ISO',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      // What an operator sees in pg_stat_activity for the service's one idle connection.
      application_name: 'accesstrail change feed',
    });
  extraConnections.set(
    db,
    (applicationName) =>
      new pg.Client({
        connectionString,
        options: '-c TimeZone=UTC -c DateStyle=ISO',
        connectionTimeoutMillis: 10_000,
        application_name: applicationName,
      }),
  );
  return { db, engine: 'postgres', location, newListenClient, close: () => db.destroy() };
}

const extraConnections = new WeakMap<object, (applicationName: string) => pg.Client>();

/** A connection of its own to this store, outside the pool, for work that runs beside
 *  the caller's (matching's slices): undefined on the embedded engine, which has one
 *  connection in all, and for a Kysely not opened by openStore. The caller connects and
 *  ends it. */
export function newStoreConnection(db: Kysely<Database>, applicationName: string): pg.Client | undefined {
  return extraConnections.get(db)?.(applicationName);
}

/** Whether newStoreConnection can open connections to this store. */
export function opensStoreConnections(db: Kysely<Database>): boolean {
  return extraConnections.has(db);
}

/** How many connections one piece of work may use at once on this store (correlation's
 *  slices and rules, docs/operations.md): the server's max_parallel_workers_per_gather,
 *  the processes Postgres itself gives one query, at least 1; 1 where newStoreConnection
 *  cannot open connections (the embedded engine). */
export async function parallelConnections(db: Kysely<Database>): Promise<number> {
  if (!opensStoreConnections(db)) return 1;
  const { rows } = await sql<{ n: number }>`select current_setting('max_parallel_workers_per_gather')::int as n`.execute(db);
  return Math.max(1, Number(rows[0]?.n ?? 1));
}

// Node socket codes, and Postgres SQLSTATEs of class 08 (connection exception) and 57P0x
// (the server is shutting down or restarting).
const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connection error and is not queryable|Client has already been connected|Client was closed|timeout exceeded when trying to connect|terminating connection/i;

const storeErrors = new WeakSet<object>();

function markStoreError(error: unknown): unknown {
  if (error !== null && typeof error === 'object') storeErrors.add(error);
  return error;
}

/** True when `error` came from a store connection and says it was lost or refused
 *  (not a bad statement, and not another database's connection). */
export function isStoreConnectionLoss(error: unknown): boolean {
  if (error === null || typeof error !== 'object' || !storeErrors.has(error)) return false;
  const e = error as { code?: unknown; message?: unknown };
  return CONNECTION_CODES.has(String(e.code ?? '')) || CONNECTION_MESSAGES.test(String(e.message ?? ''));
}

/** A lost store connection as one clear line; anything else unchanged. Nothing is lost
 *  by it: every batch is one transaction, and a rerun resumes from the last checkpoint. */
export function describeStoreFailure(error: unknown, location: string): unknown {
  if (!isStoreConnectionLoss(error)) return error;
  const detail = String((error as { code?: unknown }).code ?? '') || String((error as Error).message);
  return new AppError(
    'STORE_UNAVAILABLE',
    `lost the connection to the store at ${location} (DATABASE_URL): ${detail}; batches already written are kept, run the command again to resume`,
    { cause: error },
  );
}

const embeddedStores = new WeakSet<object>();

/** True for a store on the embedded engine: one connection, one process (whoever holds a
 *  connection holds them all, so cross-process locks become in-process ones). */
export function isEmbeddedStore(db: Kysely<Database>): boolean {
  return embeddedStores.has(db);
}

async function openPglite(dataDir: string): Promise<Store> {
  let location = 'memory://';
  let pglite: PGlite;
  if (dataDir === 'memory://') {
    pglite = new PGlite({ parsers: { [INT8_OID]: (value: string) => Number(value) } });
  } else {
    location = path.resolve(dataDir, 'store');
    mkdirSync(location, { recursive: true });
    pglite = new PGlite(location, { parsers: { [INT8_OID]: (value: string) => Number(value) } });
  }
  try {
    await pglite.waitReady;
  } catch (error) {
    throw new AppError('STORE_UNAVAILABLE', `cannot open the embedded store in ${location}: ${(error as Error).message}`, { cause: error });
  }
  await pglite.exec(`SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO'`);
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  embeddedStores.add(db);
  return { db, engine: 'pglite', location: `embedded store ${location}`, close: () => db.destroy() };
}

/** Readiness: the store answers a statement (throws when it does not). */
export async function pingStore(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
