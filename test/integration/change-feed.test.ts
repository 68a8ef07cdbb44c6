// The service keeps API key lookups, the latest correlation run and reports' hashes in
// memory, and forgets them when the store notifies a change (migration 0016,
// src/store/change-feed.ts). These tests change the store the way another process does
// (a store handle of its own, as the CLI or a worker), and check that the service
// follows: that it did keep the answer (so the tests could fail), that a change reaches
// it, how long that takes, and that losing the listening connection makes it read the
// store again rather than serve what it kept.
import { Writable } from 'node:stream';

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKeyRepository } from '../../src/api/api-keys.js';
import { notificationCheck } from '../../src/doctor/store.js';
import { createLogger } from '../../src/logger.js';
import { openChangeFeed } from '../../src/store/change-feed.js';
import { openStore, type Store } from '../../src/store/database.js';
import { insertCorrelationRun } from '../support/factories.js';
import { type ApiFixture, bearer, openApiFixture } from './api-helpers.js';

async function until(condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

describe('the service follows the store’s changes (LISTEN/NOTIFY)', () => {
  let f: ApiFixture;
  /** Another handle on the same store: what `accesstrail keys revoke` or a worker holds. */
  let other: Store;

  beforeAll(async () => {
    f = await openApiFixture();
    if (!f.store.url) throw new Error('these tests need the Postgres store');
    other = await openStore({ databaseUrl: f.store.url, migrate: false, poolSize: 2 });
  });
  afterAll(async () => {
    await other?.close();
    await f?.close();
  });

  /** Revokes a key with migration 0016's trigger off: no notification is sent. */
  const revokeUnannounced = (id: string) =>
    other.db.transaction().execute(async (trx) => {
      await sql`alter table api_key disable trigger api_key_changed`.execute(trx);
      await trx.updateTable('api_key').set({ revoked_at: new Date() }).where('id', '=', id).execute();
      await sql`alter table api_key enable trigger api_key_changed`.execute(trx);
    });

  const findings = (key: string) => f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(key) });

  it('listens on a connection of its own, named for pg_stat_activity', async () => {
    expect(f.app.changes.listening).toBe(true);
    const rows = await sql<{ n: number }>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and application_name = 'accesstrail change feed'`.execute(f.store.db);
    expect(rows.rows[0]!.n).toBe(1);
  });

  it('keeps a key it found: a change made without a notification is not seen until one arrives', async () => {
    const { key, info } = await createApiKeyRepository(other.db).create({ name: 'kept', scopes: ['findings:read'] });
    expect((await findings(key)).statusCode).toBe(200);
    // Revoked with the trigger off: the row says revoked, the service was not told.
    await revokeUnannounced(info.id);
    expect((await findings(key)).statusCode).toBe(200);
    await sql`select pg_notify('accesstrail_change', 'api_key')`.execute(other.db);
    await f.app.changes.sync();
    expect((await findings(key)).statusCode).toBe(401);
  });

  it('refuses a key revoked by another process within milliseconds, and at once after sync()', async () => {
    const repository = createApiKeyRepository(other.db);
    const { key, info } = await repository.create({ name: 'revoked elsewhere', scopes: ['findings:read'] });
    expect((await findings(key)).statusCode).toBe(200);
    await repository.revoke(info.id);
    const waited = await until(async () => (await findings(key)).statusCode === 401, 2_000);
    expect(waited).toBeLessThan(2_000);

    const second = await repository.create({ name: 'revoked elsewhere, synced', scopes: ['findings:read'] });
    expect((await findings(second.key)).statusCode).toBe(200);
    await repository.revoke(second.info.id);
    await f.app.changes.sync();
    expect((await findings(second.key)).statusCode).toBe(401);
  });

  it('serves a run that succeeded in another process as the latest', async () => {
    const { key } = await createApiKeyRepository(other.db).create({ name: 'runs', scopes: ['findings:read'] });
    const first = await insertCorrelationRun(other.db);
    await f.app.changes.sync();
    expect((await findings(key)).json().correlationRunId).toBe(first);
    const second = await insertCorrelationRun(other.db, { status: 'running', finishedAt: null });
    await f.app.changes.sync();
    expect((await findings(key)).json().correlationRunId).toBe(first);
    await other.db.updateTable('correlation_run').set({ status: 'succeeded', finished_at: new Date() }).where('id', '=', second).execute();
    await f.app.changes.sync();
    expect((await findings(key)).json().correlationRunId).toBe(second);
  });

  it('reads the store while its listening connection is lost, and listens again', async () => {
    const repository = createApiKeyRepository(other.db);
    const { key, info } = await repository.create({ name: 'while lost', scopes: ['findings:read'] });
    expect((await findings(key)).statusCode).toBe(200);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name = 'accesstrail change feed'`.execute(other.db);
    await until(() => !f.app.changes.listening, 2_000);
    // Revoked while nobody listens: no notification reaches the service, and it must not
    // serve the key it kept.
    await revokeUnannounced(info.id);
    expect((await findings(key)).statusCode).toBe(401);
    await until(() => f.app.changes.listening, 5_000);
    const again = await repository.create({ name: 'after reconnecting', scopes: ['findings:read'] });
    expect((await findings(again.key)).statusCode).toBe(200);
    await repository.revoke(again.info.id);
    await f.app.changes.sync();
    expect((await findings(again.key)).statusCode).toBe(401);
  });

  it('keeps nothing on a store it cannot listen to, and goes on trying', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const logger = createLogger({ level: 'debug', destination, format: 'json' });
    const unreachable: Store = {
      ...f.store,
      newListenClient: () => new pg.Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 200 }),
    };
    const feed = await openChangeFeed(unreachable, logger, { readyTimeoutMs: 1_000 });
    try {
      expect(feed.listening).toBe(false);
      let loads = 0;
      const load = async () => ++loads;
      await feed.cached('api_key', 'k', load);
      await feed.cached('api_key', 'k', load);
      expect(loads).toBe(2);
      await feed.sync();
      expect(lines.join('')).toContain('cannot listen for store changes (yet)');
    } finally {
      await feed.close();
    }
  });

  it('keeps nothing when its LISTEN and its NOTIFY reach different sessions (a pooler in transaction mode)', async () => {
    // What PgBouncer in transaction mode does to a session's statements: each may run on
    // another server connection. Here the LISTEN runs on one the feed never reads from.
    const url = f.store.url!;
    const elsewhere: pg.Client[] = [];
    class PooledClient extends pg.Client {
      override query(...args: never[]): never {
        const [text] = args as unknown as [unknown];
        if (typeof text === 'string' && text.startsWith('LISTEN')) {
          const other = new pg.Client({ connectionString: url });
          elsewhere.push(other);
          return other.connect().then(() => other.query(text)) as never;
        }
        return (super.query as (...a: never[]) => never)(...args);
      }
    }
    const pooled: Store = { ...f.store, newListenClient: () => new PooledClient({ connectionString: url }) };
    const feed = await openChangeFeed(pooled, createLogger({ level: 'silent' }), { readyTimeoutMs: 2_000, roundTripTimeoutMs: 300 });
    try {
      expect(feed.listening).toBe(false);
      let loads = 0;
      await feed.cached('correlation_run', 'latest', async () => ++loads);
      await feed.cached('correlation_run', 'latest', async () => ++loads);
      expect(loads).toBe(2);
      // `accesstrail doctor` says so, with the way out.
      const check = await notificationCheck(pooled);
      expect(check.status).toBe('warn');
      expect(check.fix).toContain('session mode');
    } finally {
      await feed.close();
      for (const client of elsewhere) await client.end();
    }
  });
});
