// Each way of pointing the collector at the wrong thing stops with one clear line that
// names the problem, with the right code, and never prints a password or key.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectMetabase } from '../../src/collectors/metabase/index.js';
import {
  createMetabaseAppDatabase,
  generateMetabaseDataset,
  type MetabaseApiEmulator,
  startMetabaseApiEmulator,
} from '../../src/emulators/metabase/index.js';
import { AppError } from '../../src/errors.js';
import { openTestStore, serverUrl, type TestStore } from '../support/database.js';
import { type AppDatabase, createAppDatabase, makeContext, MARIADB_URL } from './metabase-helpers.js';

const now = new Date('2026-03-10T00:00:00Z');
const dataset = generateMetabaseDataset({ start: new Date('2026-03-01T00:00:00Z'), days: 2, users: 3 });
const SECRET = `Wr0ng-${randomBytes(4).toString('hex')}`;

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected the collection to fail');
}

describe('Metabase collector errors', () => {
  let store: TestStore;
  let pgApp: AppDatabase;
  let myApp: AppDatabase;
  let api: MetabaseApiEmulator;
  const role = `mb_restricted_${randomBytes(4).toString('hex')}`;
  const myUser = `mbr_${randomBytes(3).toString('hex')}`;
  const myPassword = `Right-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    store = await openTestStore('postgres');
    pgApp = await createAppDatabase('postgres');
    await createMetabaseAppDatabase({ url: pgApp.url, version: 60, dataset });
    myApp = await createAppDatabase('mysql');
    await createMetabaseAppDatabase({ url: myApp.url, version: 60, dataset });
    api = await startMetabaseApiEmulator({ dataset, apiKey: 'mb_RightKeyRightKey', edition: 'enterprise' });

    // A Postgres role that may read every Metabase table but login_history.
    const admin = new pg.Client({ connectionString: pgApp.url });
    await admin.connect();
    await admin.query(`create role ${role} login`);
    await admin.query(`grant select on all tables in schema public to ${role}`);
    await admin.query(`revoke select on login_history from ${role}`);
    await admin.end();

    // A MariaDB user with a password, allowed every table but view_log.
    const my = await mysql.createConnection(MARIADB_URL);
    const database = new URL(myApp.url).pathname.slice(1);
    for (const host of ['%', 'localhost', '127.0.0.1']) {
      await my.query(`create user '${myUser}'@'${host}' identified by '${myPassword}'`);
      for (const table of [
        'core_user',
        'login_history',
        'core_session',
        'auth_identity',
        'query_execution',
        'audit_log',
        'permissions_group',
        'permissions_group_membership',
        'api_key',
      ]) {
        await my.query(`grant select on \`${database}\`.\`${table}\` to '${myUser}'@'${host}'`);
      }
    }
    await my.end();
  });

  afterAll(async () => {
    await api?.close();
    await store?.dispose();
    await pgApp?.drop();
    const admin = new pg.Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`drop role if exists ${role}`);
    await admin.end();
    const my = await mysql.createConnection(MARIADB_URL);
    for (const host of ['%', 'localhost', '127.0.0.1']) await my.query(`drop user if exists '${myUser}'@'${host}'`);
    await my.end();
    await myApp?.drop();
  });

  const run = async (env: Record<string, string>) => collectMetabase(await makeContext(store, env, now), {});

  it('names an unreachable database', async () => {
    const error = await failure(run({ METABASE_DB_URL: `postgres://postgres:${SECRET}@127.0.0.1:1/metabase` }));
    expect(error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error.message).toMatch(
      /cannot reach the Metabase application database at postgres:\/\/127\.0\.0\.1:1\/metabase \(METABASE_DB_URL\): ECONNREFUSED/,
    );
    expect(error.message).not.toContain(SECRET);
  });

  it('names refused credentials without printing the password', async () => {
    const url = new URL(myApp.url);
    url.username = myUser;
    url.password = SECRET;
    const error = await failure(run({ METABASE_DB_URL: url.toString() }));
    expect(error.code).toBe('UPSTREAM_AUTH');
    expect(error.message).toMatch(/refused the credentials/);
    expect(error.message).not.toContain(SECRET);
  });

  it('names the table a Postgres role may not read', async () => {
    const url = new URL(pgApp.url);
    url.username = role;
    const error = await failure(run({ METABASE_DB_URL: url.toString() }));
    expect(error.code).toBe('UPSTREAM_PERMISSION');
    expect(error.message).toMatch(/may not read table login_history/);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('names the table a MariaDB user may not read', async () => {
    const url = new URL(myApp.url);
    url.username = myUser;
    url.password = myPassword;
    const error = await failure(run({ METABASE_DB_URL: url.toString() }));
    expect(error.code).toBe('UPSTREAM_PERMISSION');
    expect(error.message).toMatch(/may not read table view_log/);
    expect(error.message).not.toContain(myPassword);
  });

  it('names a refused API key', async () => {
    const error = await failure(run({ METABASE_URL: api.url, METABASE_API_KEY: `mb_${SECRET}` }));
    expect(error.code).toBe('UPSTREAM_AUTH');
    expect(error.message).toMatch(/refused METABASE_API_KEY \(401/);
    expect(error.message).not.toContain(SECRET);
  });

  it('stops the CLI with exit 1 and one line on stderr', () => {
    const url = new URL(myApp.url);
    url.username = myUser;
    url.password = SECRET;
    const cli = spawnSync(process.execPath, ['bin/accesstrail.js', 'collect', '--source', 'metabase', '--no-correlate'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        DATABASE_URL: store.url ?? '',
        METABASE_DB_URL: url.toString(),
        ACCESSTRAIL_LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status).toBe(1);
    const lines = cli.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^accesstrail: the Metabase application database at mysql:\/\/127\.0\.0\.1:3306\/mb_app_\w+ \(METABASE_DB_URL\) refused the credentials/,
    );
    expect(cli.stderr + cli.stdout).not.toContain(SECRET);
  });
});
