// Each test file gets its own fresh database: a new database on TEST_DATABASE_URL's
// server (default: the local Postgres on 127.0.0.1:5432, user postgres, trust auth),
// or, when no server answers, the embedded PGlite engine in memory.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { type Engine, openStore, type Store } from '../../src/store/database.js';

const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function serverUrl(): string {
  return process.env['TEST_DATABASE_URL'] ?? DEFAULT_SERVER_URL;
}

let serverReachable: Promise<boolean> | undefined;

export function postgresAvailable(): Promise<boolean> {
  serverReachable ??= (async () => {
    const client = new pg.Client({ connectionString: serverUrl(), connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return false;
    }
  })();
  return serverReachable;
}

/** Runs one statement on the test server as its administrator (settings of a test's
 *  own database, roles), on a connection of its own. */
export async function onTestServer(statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database on the test server and returns its URL. */
export async function createTestDatabase(prefix = 'accesstrail_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface TestStore extends Store {
  /** Drops the database (Postgres) or closes the engine (PGlite). */
  dispose(): Promise<void>;
  url: string | undefined;
}

/** A migrated store on the requested engine ('postgres' falls back to PGlite when no
 *  server is reachable, so the suite still runs on a machine without one). */
export async function openTestStore(engine: Engine = 'postgres'): Promise<TestStore> {
  if (engine === 'postgres' && (await postgresAvailable())) {
    const database = await createTestDatabase();
    const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
    return Object.assign(store, {
      url: database.url,
      async dispose() {
        await store.close();
        await database.drop();
      },
    });
  }
  const store = await openStore({ dataDir: 'memory://' });
  return Object.assign(store, { url: undefined, dispose: () => store.close() });
}

export const engines: Engine[] = ['postgres', 'pglite'];
