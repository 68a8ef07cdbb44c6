// Opens the store: Postgres through `pg` when a connection string is given, else the
// embedded PGlite engine in the data folder. Both speak the same SQL and run the same
// migrations; every session runs in UTC so times and hashes agree across engines.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
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
  const store = options.databaseUrl ? await openPostgres(options.databaseUrl, options.poolSize ?? 10) : await openPglite(options.dataDir ?? './.accesstrail');
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
  const location = describeConnectionString(connectionString);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new AppError('STORE_UNAVAILABLE', `cannot connect to the store at ${location} (DATABASE_URL): ${(error as Error).message}`, { cause: error });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, engine: 'postgres', location, close: () => db.destroy() };
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
  return { db, engine: 'pglite', location: `embedded store ${location}`, close: () => db.destroy() };
}

