// Malformed upstream values go to the quarantine and the run goes on; retention that
// deleted rows before they were collected becomes a note and a gap, not coverage; the
// embedded PGlite app database serves the collector over the wire protocol.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectMetabaseWith } from '../../src/collectors/metabase/index.js';
import {
  connectFixture,
  createMetabaseAppDatabase,
  generateMetabaseDataset,
  startEmbeddedMetabaseDatabase,
} from '../../src/emulators/metabase/index.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { type AppDatabase, createAppDatabase, makeContext } from './metabase-helpers.js';

const start = new Date('2026-03-01T00:00:00Z');

describe('Metabase collector: quarantine, retention, embedded database', () => {
  let store: TestStore;
  const apps: AppDatabase[] = [];
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await store?.dispose();
    for (const app of apps) await app.drop();
  });

  it('quarantines bad JSON and impossible timestamps, keeps the records, and goes on', async () => {
    const app = await createAppDatabase('postgres');
    apps.push(app);
    const dataset = generateMetabaseDataset({ start, days: 2, users: 3 });
    dataset.audit_log[0]!.details = '{"name": "Revenue"'; // truncated JSON
    dataset.core_user.find((u) => u.id === 2)!.login_attributes = '{department: finance}';
    const badQuery = dataset.query_execution[3]!;
    badQuery.started_at = '1900-01-01T00:00:00Z';
    await createMetabaseAppDatabase({ url: app.url, version: 60, dataset });

    const summary = await collectMetabaseWith(
      await makeContext(store, { METABASE_DB_URL: app.url }, new Date('2026-03-10T00:00:00Z')),
      {},
      { batchRows: 10 },
    );
    const byStream = Object.fromEntries(summary.streams.map((s) => [s.stream, s]));
    expect(byStream['metabase-audit-events']).toMatchObject({
      records: dataset.audit_log.length,
      inserted: dataset.audit_log.length,
      quarantined: 1,
    });
    expect(byStream['metabase-accounts']).toMatchObject({ records: dataset.core_user.length, quarantined: 1 });
    expect(byStream['metabase-query-executions']).toMatchObject({
      records: dataset.query_execution.length,
      inserted: dataset.query_execution.length - 1,
      quarantined: 1,
    });

    const quarantined = await store.db
      .selectFrom('quarantined_record')
      .select(['stream', 'upstream_id', 'reason', 'payload'])
      .where('source_id', '=', summary.sourceId)
      .orderBy('stream')
      .execute();
    expect(quarantined.map((q) => [q.stream, q.upstream_id])).toEqual([
      ['metabase-accounts', '2'],
      ['metabase-audit-events', String(dataset.audit_log[0]!.id)],
      ['metabase-query-executions', String(badQuery.id)],
    ]);
    expect(quarantined[0]!.reason).toMatch(/core_user\.login_attributes is not valid JSON/);
    expect(quarantined[1]!.reason).toMatch(/audit_log\.details is not valid JSON/);
    expect(quarantined[2]!.reason).toMatch(/started_at 1900-01-01T00:00:00.000Z is before 2000/);
    // The quarantined account is still in the snapshot (no false tombstone), with the text kept.
    const account = await store.db
      .selectFrom('metabase_account_version')
      .select('raw')
      .where('source_id', '=', summary.sourceId)
      .where('upstream_id', '=', '2')
      .executeTakeFirstOrThrow();
    expect((account.raw as { login_attributes: unknown }).login_attributes).toBe('{department: finance}');
    expect(quarantined.map((q) => q.payload).join(' ')).not.toMatch(/\$2a\$10\$/);
  });

  it('notes rows deleted by retention before they were collected and claims no coverage for them', async () => {
    const app = await createAppDatabase('postgres');
    apps.push(app);
    const dataset = generateMetabaseDataset({ start, days: 3, users: 2 });
    await createMetabaseAppDatabase({ url: app.url, version: 50, dataset });
    const env = { METABASE_DB_URL: app.url };
    const first = await collectMetabaseWith(
      await makeContext(store, env, new Date('2026-03-05T00:00:00Z')),
      { since: new Date('2026-02-20T00:00:00Z') },
      { batchRows: 50 },
    );
    const firstQueries = first.streams.find((s) => s.stream === 'metabase-query-executions')!;
    // First run with --since before the oldest row: the start is not claimed either.
    expect(firstQueries.notes.join(' ')).toMatch(/later than the requested start/);
    const oldest = dataset.query_execution[0]!.started_at as Date;
    expect(firstQueries.coverage[0]!.from.toISOString()).toBe(oldest.toISOString());

    // Metabase's retention job deletes everything collected, then new rows arrive.
    const fixture = await connectFixture(app.url);
    await fixture.query('delete from query_execution');
    await fixture.query(
      "insert into query_execution (hash, started_at, running_time, result_rows, native, context, executor_id) values (sha256('x'), '2026-03-20T10:00:00Z', 5, 1, false, 'ad-hoc', 1)",
    );
    await fixture.close();
    const second = await collectMetabaseWith(await makeContext(store, env, new Date('2026-03-21T00:00:00Z')), {}, { batchRows: 50 });
    const queries = second.streams.find((s) => s.stream === 'metabase-query-executions')!;
    expect(queries).toMatchObject({ records: 1, inserted: 1 });
    expect(queries.notes.join(' ')).toMatch(
      /oldest row Metabase still holds \(2026-03-20T10:00:00.000Z\) is later than the last row collected/,
    );
    expect(queries.coverage.map((r) => [r.from.toISOString(), r.to.toISOString()])).toEqual([
      ['2026-03-20T10:00:00.000Z', '2026-03-21T00:00:00.000Z'],
    ]);
    const gaps = await store.db
      .selectFrom('retention_observation')
      .select(['oldest_available_at'])
      .where('source_id', '=', second.sourceId)
      .where('stream', '=', 'metabase-query-executions')
      .orderBy('id')
      .execute();
    expect(gaps.map((g) => g.oldest_available_at?.toISOString())).toEqual([oldest.toISOString(), '2026-03-20T10:00:00.000Z']);
  });

  it('claims no coverage from an empty audit_log or view_log (open-source editions never write them)', async () => {
    const app = await createAppDatabase('postgres');
    apps.push(app);
    const dataset = generateMetabaseDataset({ start, days: 1, users: 2 });
    dataset.audit_log = [];
    dataset.view_log = [];
    await createMetabaseAppDatabase({ url: app.url, version: 60, dataset });
    const summary = await collectMetabaseWith(
      await makeContext(store, { METABASE_DB_URL: app.url }, new Date('2026-03-10T00:00:00Z')),
      { since: new Date('2026-02-01T00:00:00Z') },
      { batchRows: 50 },
    );
    const audits = summary.streams.find((s) => s.stream === 'metabase-audit-events')!;
    expect(audits.coverage).toEqual([]);
    expect(audits.notes.join(' ')).toMatch(/only with the audit-app feature/);
    expect(summary.streams.find((s) => s.stream === 'metabase-logins')!.coverage).toHaveLength(1);
    const cap = await store.db
      .selectFrom('source_capability')
      .select(['available', 'reason'])
      .where('source_id', '=', summary.sourceId)
      .where('capability', '=', 'metabase-table:view_log')
      .executeTakeFirstOrThrow();
    expect(cap).toMatchObject({ available: false });
  });

  it('collects from the embedded PGlite served over the Postgres wire protocol', async () => {
    const dataset = generateMetabaseDataset({ start, days: 1, users: 2 });
    const embedded = await startEmbeddedMetabaseDatabase({ version: 60, dataset });
    try {
      const summary = await collectMetabaseWith(
        await makeContext(store, { METABASE_DB_URL: embedded.url }, new Date('2026-03-10T00:00:00Z')),
        {},
        { batchRows: 5 },
      );
      const byStream = Object.fromEntries(summary.streams.map((s) => [s.stream, s]));
      expect(byStream['metabase-logins']!.inserted).toBe(dataset.login_history.length);
      expect(byStream['metabase-query-executions']!.inserted).toBe(dataset.query_execution.length);
      expect(byStream['metabase-accounts']!.inserted).toBe(dataset.core_user.length);
    } finally {
      await embedded.close();
    }
  });
});
