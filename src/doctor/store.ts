// The evidence store is reachable and migrated — checked without migrating it: the
// doctor opens the store with migrate: false and compares schema_migration with the
// migration files. It changes nothing (an embedded store that does not exist yet is not
// created).
import { existsSync } from 'node:fs';
import path from 'node:path';

import { sql } from 'kysely';

import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { createLogger } from '../logger.js';
import { openChangeFeed } from '../store/change-feed.js';
import { newStoreConnection, openStore, parallelConnections, type Store } from '../store/database.js';
import { type MigrationFile, readMigrationFiles } from '../store/migrate.js';
import { type Check, fail, pass, warn } from './check.js';

export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

/** Pure: the migrated line from what the store records and what the files say. */
export function migrationCheck(applied: readonly AppliedMigration[] | null, files: readonly MigrationFile[], location: string): Check {
  const name = 'store migrated';
  if (applied === null)
    return fail('store', name, `${location} has no schema_migration table: it was never migrated`, 'run `accesstrail migrate`');
  const changed = applied.filter((row) => {
    const file = files.find((f) => f.version === row.version);
    return file !== undefined && file.checksum !== row.checksum;
  });
  if (changed.length > 0)
    return fail(
      'store',
      name,
      `migration ${changed.map((c) => c.name).join(', ')} was changed after it was applied`,
      'restore the original migration files (add a new migration instead of editing one)',
    );
  const pending = files.filter((f) => !applied.some((row) => row.version === f.version));
  const current = Math.max(0, ...applied.map((r) => r.version));
  if (pending.length > 0)
    return fail(
      'store',
      name,
      `schema version ${current}; ${pending.length} migration(s) pending: ${pending.map((p) => p.name).join(', ')}`,
      'run `accesstrail migrate` (every other command does this too)',
    );
  const newer = applied.filter((row) => !files.some((f) => f.version === row.version));
  if (newer.length > 0)
    return fail(
      'store',
      name,
      `the store has migration(s) this accesstrail does not know: ${newer.map((n) => n.name).join(', ')}`,
      'upgrade accesstrail to the version that migrated this store',
    );
  return pass('store', name, `schema version ${current}, all ${files.length} migrations applied`);
}

/** Whether `serve` can keep its lookups in memory: the change feed's own LISTEN and a
 *  NOTIFY to itself (src/store/change-feed.ts); a notification changes nothing. */
export async function notificationCheck(store: Store): Promise<Check> {
  const name = 'store notifications (LISTEN/NOTIFY)';
  const feed = await openChangeFeed(store, createLogger({ level: 'silent' }), { readyTimeoutMs: 5_000, roundTripTimeoutMs: 3_000 });
  try {
    if (feed.listening)
      return pass('store', name, '`serve` keeps API key lookups and the latest run in memory, and hears of their changes');
    return warn(
      'store',
      name,
      'a notification sent on this connection did not come back: `serve` will read the store on every API request (it still works, more slowly)',
      'point DATABASE_URL at Postgres itself or at a pool in session mode (a pooler in transaction mode, e.g. PgBouncer pool_mode = transaction, cannot LISTEN)',
    );
  } finally {
    await feed.close();
  }
}

/** Correlation's connections (docs/operations.md): how many slices login matching runs
 *  in (the server's max_parallel_workers_per_gather), and whether the connections it
 *  opens beside the pool can be opened. */
export async function correlationConnectionsCheck(store: Store): Promise<Check> {
  const name = "correlation's connections";
  const slices = await parallelConnections(store.db);
  if (slices === 1)
    return pass(
      'store',
      name,
      `one connection (max_parallel_workers_per_gather ≤ 1): login matching and the rules run one at a time; raise it to give correlation more of the server's cores`,
    );
  const client = newStoreConnection(store.db, 'accesstrail doctor')!;
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    return warn(
      'store',
      name,
      `max_parallel_workers_per_gather = ${slices}, but a connection beside the pool could not be opened (${(error as Error).message}): login matching will run its ${slices} slices one after another on one connection, more slowly`,
      "allow accesstrail's role as many more connections as slices (the server's max_connections, the role's CONNECTION LIMIT), or lower max_parallel_workers_per_gather for its database",
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return pass(
    'store',
    name,
    `login matching in ${slices} slices, one connection each, and ${slices} rules at a time (max_parallel_workers_per_gather = ${slices})`,
  );
}

export async function checkStore(config: Config): Promise<Check[]> {
  if (!config.DATABASE_URL && !existsSync(path.join(config.dataDir, 'store'))) {
    return [
      fail(
        'store',
        'store reachable',
        `no embedded store in ${config.dataDir} (DATABASE_URL is not set)`,
        'set DATABASE_URL to the Postgres store, or run `accesstrail migrate` to create the embedded one',
      ),
    ];
  }
  let store;
  try {
    store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir, migrate: false, poolSize: 1 });
  } catch (error) {
    const message = error instanceof AppError ? error.message : (error as Error).message;
    return [fail('store', 'store reachable', message, 'check DATABASE_URL (host, port, database, user) and that the server is running')];
  }
  try {
    const checks: Check[] = [
      pass('store', 'store reachable', `${store.engine === 'postgres' ? 'PostgreSQL' : 'embedded PGlite'} ${store.location}`),
    ];
    let applied: AppliedMigration[] | null;
    try {
      const { rows } = await sql<AppliedMigration>`select version, name, checksum from schema_migration order by version`.execute(store.db);
      applied = rows;
    } catch (error) {
      if (String((error as { code?: string }).code) !== '42P01' && !/schema_migration.*does not exist/i.test((error as Error).message))
        throw error;
      applied = null;
    }
    checks.push(migrationCheck(applied, readMigrationFiles(), store.location));
    if (store.engine === 'postgres') checks.push(await notificationCheck(store), await correlationConnectionsCheck(store));
    return checks;
  } finally {
    await store.close();
  }
}
