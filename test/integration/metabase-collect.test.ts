// The Metabase collector against real application databases built from Metabase's
// migrations (src/emulators/metabase/schema.ts cites the changesets): v50, v53
// (deactivated_at), v54 (key_hashed NOT NULL, random session ids; stands for v54–v57),
// v58 (auth_identity, core_session.auth_identity_id ON DELETE CASCADE) and v60
// (partitioned query_execution on Postgres), on Postgres and MariaDB (upper-case
// DATABASECHANGELOG). The store must hold exactly what the fixture holds, incrementally,
// with secrets never stored.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectMetabaseWith } from '../../src/collectors/metabase/index.js';
import { sha256Hex } from '../../src/collectors/metabase/mapping.js';
import {
  appendMetabaseRows,
  connectFixture,
  createMetabaseAppDatabase,
  generateMetabaseDataset,
  INTERNAL_USER_ID,
  type MetabaseDataset,
} from '../../src/emulators/metabase/index.js';
import type { MetabaseVersion } from '../../src/emulators/metabase/schema.js';
import { verifyChain } from '../../src/store/chain.js';
import { decodeEventRow, storedRaw } from '../../src/store/record-codec.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { type AppDatabase, createAppDatabase, makeContext } from './metabase-helpers.js';

const start = new Date('2026-03-01T00:00:00Z');
const now1 = new Date('2026-03-10T00:00:00Z');
const now2 = new Date('2026-03-11T00:00:00Z');
const now3 = new Date('2026-03-12T00:00:00Z');

const cases: Array<{ engine: 'postgres' | 'mysql'; version: MetabaseVersion }> = [
  { engine: 'postgres', version: 50 },
  { engine: 'postgres', version: 53 },
  { engine: 'postgres', version: 54 },
  { engine: 'postgres', version: 58 },
  { engine: 'postgres', version: 60 },
  { engine: 'mysql', version: 50 },
  { engine: 'mysql', version: 54 },
  { engine: 'mysql', version: 58 },
  { engine: 'mysql', version: 60 },
];

type Rows = Array<Record<string, unknown>>;
const ms = (value: unknown) => new Date(value as string).getTime();
const n = (value: unknown) => (value === null || value === undefined ? null : Number(value));
const b = (value: unknown) =>
  value === null || value === undefined ? null : Buffer.isBuffer(value) ? value[0] === 1 : Boolean(Number(value) || value === true);
const sortBy = <T>(rows: T[], key: (row: T) => string | number) =>
  [...rows].sort((x, y) => String(key(x)).localeCompare(String(key(y)), 'en', { numeric: true }));

describe.each(cases)('Metabase collector on $engine, schema v$version', ({ engine, version }) => {
  let store: TestStore;
  let app: AppDatabase;
  let dataset: MetabaseDataset;
  let sourceId: string;

  async function fixture(text: string): Promise<Rows> {
    const connection = await connectFixture(app.url);
    try {
      return await connection.query(text);
    } finally {
      await connection.close();
    }
  }

  async function collect(now: Date, options: { since?: Date } = {}) {
    const context = await makeContext(store, { METABASE_DB_URL: app.url }, now);
    return collectMetabaseWith(context, options, { batchRows: 7 });
  }

  beforeAll(async () => {
    store = await openTestStore('postgres');
    app = await createAppDatabase(engine);
    dataset = generateMetabaseDataset({ start, days: 4, users: 4, seed: version, version });
    await createMetabaseAppDatabase({ url: app.url, version, dataset });
  });
  afterAll(async () => {
    await store?.dispose();
    await app?.drop();
  });

  it('collects every table exactly as the application database holds it', async () => {
    const summary = await collect(now1);
    sourceId = summary.sourceId;
    expect(sourceId).toMatch(/^metabase:127\.0\.0\.1:(5432|3306)\/mb_app_/);
    const byStream = Object.fromEntries(summary.streams.map((s) => [s.stream, s]));
    expect(byStream['metabase-logins']).toMatchObject({
      records: dataset.login_history.length,
      inserted: dataset.login_history.length,
      quarantined: 0,
    });
    expect(byStream['metabase-query-executions']).toMatchObject({
      records: dataset.query_execution.length,
      inserted: dataset.query_execution.length,
    });

    // login_history: ids, user, the hashed session, device, IP, time.
    const logins = await fixture('select id, user_id, session_id, device_id, ip_address, timestamp from login_history order by id');
    const storedLogins = (await store.db.selectFrom('metabase_login').selectAll().where('source_id', '=', sourceId).execute()).map((r) =>
      decodeEventRow('metabase_login', r),
    );
    expect(
      sortBy(storedLogins, (r) => r.upstream_id).map((r) => [
        r.upstream_id,
        r.user_id,
        r.session_key,
        r.device_id,
        r.ip_address,
        r.occurred_at.getTime(),
      ]),
    ).toEqual(
      logins.map((r) => [
        String(r['id']),
        n(r['user_id']),
        r['session_id'] ? sha256Hex(String(r['session_id'])) : null,
        r['device_id'],
        r['ip_address'],
        ms(r['timestamp']),
      ]),
    );

    const queries = await fixture(
      'select id, executor_id, started_at, context, card_id, dashboard_id, database_id, running_time, result_rows, native from query_execution order by id',
    );
    const storedQueries = (
      await store.db.selectFrom('metabase_query_execution').selectAll().where('source_id', '=', sourceId).execute()
    ).map((r) => decodeEventRow('metabase_query_execution', r));
    expect(
      sortBy(storedQueries, (r) => r.upstream_id).map((r) => [
        r.upstream_id,
        r.executor_id,
        r.occurred_at.getTime(),
        r.context,
        r.card_id,
        r.dashboard_id,
        r.database_id,
        r.running_time_ms,
        r.result_rows,
        r.native,
      ]),
    ).toEqual(
      queries.map((r) => [
        String(r['id']),
        n(r['executor_id']),
        ms(r['started_at']),
        r['context'],
        n(r['card_id']),
        n(r['dashboard_id']),
        n(r['database_id']),
        n(r['running_time']),
        n(r['result_rows']),
        b(r['native']),
      ]),
    );
    if (engine === 'postgres' && version >= 60) {
      // Read through the partitioned parent, as current Metabase builds lay it out.
      const parts = await fixture("select count(*)::int as c from pg_inherits where inhparent = 'query_execution'::regclass");
      expect(Number(parts[0]!['c'])).toBeGreaterThan(0);
    }
    // v60 records the auth method per query; v50 cannot.
    const methods = new Set(storedQueries.map((r) => r.auth_method));
    if (version >= 60) expect(methods).toContain('api-key');
    else expect([...methods]).toEqual([null]);

    const views = await fixture('select id, user_id, model, model_id, timestamp, has_access from view_log order by id');
    const storedViews = (await store.db.selectFrom('metabase_view').selectAll().where('source_id', '=', sourceId).execute()).map((r) =>
      decodeEventRow('metabase_view', r),
    );
    expect(
      sortBy(storedViews, (r) => r.upstream_id).map((r) => [
        r.upstream_id,
        r.user_id,
        r.model,
        r.model_id,
        r.occurred_at.getTime(),
        r.has_access,
      ]),
    ).toEqual(views.map((r) => [String(r['id']), n(r['user_id']), r['model'], n(r['model_id']), ms(r['timestamp']), b(r['has_access'])]));

    const audits = await fixture('select id, topic, user_id, model, model_id, timestamp from audit_log order by id');
    const storedAudits = await store.db.selectFrom('metabase_audit_event').selectAll().where('source_id', '=', sourceId).execute();
    expect(
      sortBy(storedAudits, (r) => r.upstream_id).map((r) => [
        r.upstream_id,
        r.topic,
        r.user_id,
        r.model,
        r.model_id,
        r.occurred_at.getTime(),
      ]),
    ).toEqual(audits.map((r) => [String(r['id']), r['topic'], n(r['user_id']), r['model'], n(r['model_id']), ms(r['timestamp'])]));

    const sessions = await fixture(`select id, user_id, created_at${version >= 58 ? ', auth_identity_id' : ''} from core_session`);
    const storedSessions = await store.db.selectFrom('metabase_session').selectAll().where('source_id', '=', sourceId).execute();
    expect(
      sortBy(storedSessions, (r) => r.upstream_id).map((r) => [r.upstream_id, r.user_id, r.auth_identity_id, r.occurred_at.getTime()]),
    ).toEqual(
      sortBy(sessions, (r) => sha256Hex(String(r['id']))).map((r) => [
        sha256Hex(String(r['id'])),
        n(r['user_id']),
        n(r['auth_identity_id']),
        ms(r['created_at']),
      ]),
    );

    const identities = await store.db
      .selectFrom('metabase_auth_identity')
      .select(['upstream_id', 'user_id', 'provider', 'provider_id'])
      .where('source_id', '=', sourceId)
      .execute();
    if (version >= 58) {
      expect(sortBy(identities, (r) => r.upstream_id).map((r) => [r.upstream_id, r.user_id, r.provider])).toEqual(
        dataset.auth_identity.map((a) => [String(a.id), a.user_id, a.provider]),
      );
    } else {
      expect(identities).toEqual([]);
    }

    // Accounts: emails lower-cased, service accounts never human.
    const users = await fixture('select id, email, is_active, is_superuser from core_user order by id');
    const accounts = await store.db.selectFrom('metabase_account_version').selectAll().where('source_id', '=', sourceId).execute();
    expect(sortBy(accounts, (r) => r.upstream_id).map((r) => [r.upstream_id, r.email, r.is_active, r.is_superuser])).toEqual(
      users.map((r) => [String(r['id']), String(r['email']).toLowerCase(), b(r['is_active']), b(r['is_superuser'])]),
    );
    const keyUser = dataset.api_key[0]!.user_id!;
    const humans = Object.fromEntries(accounts.map((a) => [a.upstream_id, a.is_human]));
    expect(humans[String(keyUser)]).toBe(false);
    expect(humans[String(INTERNAL_USER_ID)]).toBe(false);
    expect(humans['1']).toBe(true);

    const memberships = await store.db
      .selectFrom('metabase_membership_version')
      .select(['upstream_id', 'user_id', 'group_id', 'is_group_manager'])
      .where('source_id', '=', sourceId)
      .execute();
    expect(sortBy(memberships, (r) => r.upstream_id).map((r) => r.upstream_id)).toEqual(
      sortBy(
        dataset.permissions_group_membership.map((m) => `${m.user_id}:${m.group_id}`),
        (x) => x,
      ),
    );
    const groups = await store.db
      .selectFrom('metabase_group_version')
      .select(['upstream_id', 'name'])
      .where('source_id', '=', sourceId)
      .orderBy('upstream_id')
      .execute();
    expect(groups.map((g) => [g.upstream_id, g.name])).toEqual(dataset.permissions_group.map((g) => [String(g.id), g.name]));
    const keys = await store.db
      .selectFrom('metabase_api_key_version')
      .select(['upstream_id', 'key_prefix', 'user_id', 'creator_id'])
      .where('source_id', '=', sourceId)
      .execute();
    expect(keys.map((k) => [k.upstream_id, k.key_prefix, k.user_id, k.creator_id])).toEqual(
      dataset.api_key.map((k) => [String(k.id), k.key_prefix, k.user_id, k.creator_id]),
    );

    // No secret reaches the store: password hashes, reset tokens, TOTP secrets, session
    // ids (live tokens before v54), session key hashes, API key hashes, credentials.
    const { rows } = await sql<{ text: string }>`
      select string_agg(raw::text, ' ') as text from (
        select raw from metabase_account_version union all select raw from metabase_session
        union all select raw from metabase_api_key_version union all select raw from metabase_auth_identity union all select raw from metabase_audit_event) r`.execute(
      store.db,
    );
    // Logins, views and query executions keep their records packed (migration 0012): read through the decoder.
    const packed = [];
    for (const table of ['metabase_login', 'metabase_view', 'metabase_query_execution'] as const)
      for (const row of await store.db.selectFrom(table).select(['raw', 'raw_packed']).execute())
        packed.push(JSON.stringify(storedRaw(row)));
    expect(packed.length).toBeGreaterThan(0);
    const stored = `${rows[0]!.text} ${packed.join(' ')}`;
    const secrets = [
      ...dataset.core_user.flatMap((u) => [u.password, u.password_salt, u.reset_token, u.totp_secret]),
      ...dataset.core_session.flatMap((s) => [s.id, s.key_hashed]),
      ...dataset.api_key.map((k) => k.key),
      ...dataset.auth_identity.map((a) => a.credentials),
    ].filter((s): s is string => typeof s === 'string' && s.length > 0);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) expect(stored).not.toContain(secret);

    // What this version lacks is recorded, not failed on.
    const caps = await store.db
      .selectFrom('source_capability')
      .select(['capability', 'available'])
      .where('source_id', '=', sourceId)
      .execute();
    const cap = Object.fromEntries(caps.map((c) => [c.capability, c.available]));
    expect(cap['metabase-table:auth_identity']).toBe(version >= 58);
    expect(cap['metabase-column:core_session.auth_identity_id']).toBe(version >= 58);
    expect(cap['metabase-column:core_user.deactivated_at']).toBe(version >= 53);
    expect(cap['metabase-column:query_execution.auth_method']).toBe(version >= 60);
    // The version is read from Liquibase's table, upper-case DATABASECHANGELOG on MariaDB.
    const source = await store.db.selectFrom('source').select('settings').where('id', '=', sourceId).executeTakeFirstOrThrow();
    const settings = (typeof source.settings === 'string' ? JSON.parse(source.settings) : source.settings) as {
      changesetVersion: number | null;
      inferredVersion: number;
      retention: { days: number | null; basis: string };
    };
    expect(settings.changesetVersion).toBe(version);
    expect(settings.inferredVersion).toBe(version);
    expect(settings.retention).toMatchObject({ days: 720, basis: 'default' });
    expect(cap['metabase-table:login_history']).toBe(true);

    // Coverage: from the oldest login to the instant the table was read to its end.
    const coverage = await store.db
      .selectFrom('coverage_window')
      .select(['covered_from', 'covered_to'])
      .where('source_id', '=', sourceId)
      .where('stream', '=', 'metabase-logins')
      .execute();
    expect(coverage.map((c) => [c.covered_from.toISOString(), c.covered_to.toISOString()])).toEqual([
      [new Date(logins[0]!['timestamp'] as string).toISOString(), now1.toISOString()],
    ]);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('adds only new rows on the next run, late arrivals included', async () => {
    const again = await collect(now2);
    for (const stream of again.streams)
      expect({ stream: stream.stream, inserted: stream.inserted }).toEqual({ stream: stream.stream, inserted: 0 });

    const lastLogin = dataset.login_history.length;
    const lastQuery = dataset.query_execution.length;
    await appendMetabaseRows(app.url, version, {
      core_session: [
        {
          id: 'f0e1d2c3-0000-4000-8000-000000000001',
          user_id: 2,
          created_at: '2026-03-11T09:00:00Z',
          ...(version >= 54 ? { key_hashed: 'c'.repeat(128) } : {}),
        },
      ],
      login_history: [
        {
          id: lastLogin + 1,
          timestamp: '2026-03-11T09:00:00Z',
          user_id: 2,
          session_id: 'f0e1d2c3-0000-4000-8000-000000000001',
          device_id: 'd-1',
          device_description: 'curl',
          ip_address: '203.0.113.9',
        },
        // Late: a greater id with an older time than rows already collected.
        {
          id: lastLogin + 2,
          timestamp: '2026-03-02T09:00:00Z',
          user_id: 3,
          session_id: null,
          device_id: 'd-2',
          device_description: 'curl',
          ip_address: '203.0.113.10',
        },
      ],
      query_execution: [
        {
          id: lastQuery + 1,
          hash: 'ab'.repeat(32),
          started_at: '2026-03-11T09:05:00Z',
          running_time: 5,
          result_rows: 1,
          native: true,
          context: 'ad-hoc',
          executor_id: 2,
          database_id: 2,
        },
      ],
    });
    const third = await collect(now3);
    const byStream = Object.fromEntries(third.streams.map((s) => [s.stream, s]));
    expect(byStream['metabase-logins']).toMatchObject({ records: 2, inserted: 2 });
    expect(byStream['metabase-query-executions']).toMatchObject({ records: 1, inserted: 1 });
    expect(byStream['metabase-sessions']!.inserted).toBe(1);
    expect(byStream['metabase-logins']!.coverage.map((r) => [r.from.toISOString(), r.to.toISOString()])).toEqual([
      [now2.toISOString(), now3.toISOString()],
    ]);
    const total = await store.db
      .selectFrom('metabase_login')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('source_id', '=', sourceId)
      .executeTakeFirstOrThrow();
    expect(Number(total.n)).toBe(lastLogin + 2);
  });

  it('keeps a deleted user’s queries with their executor id and tombstones the account', async () => {
    // A manual delete cascades logins, views, memberships and sessions; query_execution has no FK.
    const victim = 3;
    const before = (await fixture(`select count(*) as c from query_execution where executor_id = ${victim}`))[0]!['c'];
    expect(Number(before)).toBeGreaterThan(0);
    const connection = await connectFixture(app.url);
    await connection.query(`delete from core_user where id = ${victim}`);
    await connection.close();

    const later = new Date('2026-03-13T00:00:00Z');
    const summary = await collect(later);
    expect(summary.streams.find((s) => s.stream === 'metabase-accounts')!.notes.join(' ')).toMatch(/1 no longer listed/);
    const versions = await store.db
      .selectFrom('metabase_account_version')
      .select(['present', 'observed_at'])
      .where('source_id', '=', sourceId)
      .where('upstream_id', '=', String(victim))
      .orderBy('observed_at')
      .execute();
    expect(versions.map((v) => v.present)).toEqual([true, false]);
    const queries = await store.db
      .selectFrom('metabase_query_execution')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('source_id', '=', sourceId)
      .where('executor_id', '=', victim)
      .executeTakeFirstOrThrow();
    expect(Number(queries.n)).toBe(Number(before));
    const memberships = await store.db
      .selectFrom('metabase_membership_version')
      .select(['upstream_id', 'present'])
      .where('source_id', '=', sourceId)
      .where('user_id', 'is', null)
      .execute();
    expect(memberships.length).toBeGreaterThan(0);
    expect(memberships.every((m) => m.upstream_id.startsWith(`${victim}:`) && !m.present)).toBe(true);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });
});
