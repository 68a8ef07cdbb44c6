// API-only collection (Metabase Cloud) through the HTTP emulator: users paged with
// status=all, groups, memberships, keys, the monthly query logs on Enterprise, and login
// history recorded as not available.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { API_PAGE_SIZE } from '../../src/collectors/metabase/api-reader.js';
import { collectMetabase } from '../../src/collectors/metabase/index.js';
import { correlate } from '../../src/correlation/correlate.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import { staleCredential } from '../../src/correlation/rules/stale-credential.rule.js';
import {
  generateMetabaseDataset,
  INTERNAL_USER_ID,
  type MetabaseApiEmulator,
  startMetabaseApiEmulator,
} from '../../src/emulators/metabase/index.js';
import { buildReportModel } from '../../src/reports/build-model.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { makeContext } from './metabase-helpers.js';

const start = new Date('2026-01-20T00:00:00Z');
const now = new Date('2026-03-10T00:00:00Z');
const apiKey = 'mb_TestKeyTestKeyTestKey';
// More people than one page holds, some deactivated.
const dataset = generateMetabaseDataset({
  start,
  days: 2,
  people: Array.from({ length: API_PAGE_SIZE + 30 }, (_, i) => ({
    email: `Person${i}@Example.com `,
    firstName: `P${i}`,
    lastName: 'X',
    isActive: i % 10 !== 0,
  })),
  queriesPerLogin: 1,
});

describe('Metabase collector through the API', () => {
  let store: TestStore;
  let enterprise: MetabaseApiEmulator;
  let oss: MetabaseApiEmulator;
  beforeAll(async () => {
    store = await openTestStore('postgres');
    enterprise = await startMetabaseApiEmulator({ dataset, apiKey, edition: 'enterprise' });
    oss = await startMetabaseApiEmulator({ dataset, apiKey, edition: 'oss' });
  });
  afterAll(async () => {
    await enterprise?.close();
    await oss?.close();
    await store?.dispose();
  });

  it('snapshots people, groups, memberships and keys, and reads the monthly query logs', async () => {
    const summary = await collectMetabase(await makeContext(store, { METABASE_URL: enterprise.url, METABASE_API_KEY: apiKey }, now), {
      since: new Date('2026-01-01T00:00:00Z'),
    });
    const sourceId = summary.sourceId;
    expect(sourceId).toBe(`metabase:${new URL(enterprise.url).host}`);
    expect(enterprise.requests.filter((r) => r.startsWith('GET /api/user?status=all'))).toEqual([
      `GET /api/user?status=all&limit=${API_PAGE_SIZE}&offset=0`,
      `GET /api/user?status=all&limit=${API_PAGE_SIZE}&offset=${API_PAGE_SIZE}`,
    ]);
    const people = dataset.core_user.filter((u) => u.type === 'personal');
    const accounts = await store.db
      .selectFrom('metabase_account_version')
      .select(['upstream_id', 'email', 'is_active', 'is_human'])
      .where('source_id', '=', sourceId)
      .execute();
    expect(accounts.map((a) => a.upstream_id).sort()).toEqual(people.map((u) => String(u.id)).sort());
    expect(accounts.find((a) => a.upstream_id === '1')).toMatchObject({ email: 'person0@example.com', is_active: false, is_human: true });
    expect(accounts.some((a) => a.upstream_id === String(INTERNAL_USER_ID))).toBe(false);

    const memberships = await store.db
      .selectFrom('metabase_membership_version')
      .select('upstream_id')
      .where('source_id', '=', sourceId)
      .execute();
    expect(memberships.map((m) => m.upstream_id).sort()).toEqual(
      dataset.permissions_group_membership.map((m) => `${m.user_id}:${m.group_id}`).sort(),
    );
    const groups = await store.db.selectFrom('metabase_group_version').select('name').where('source_id', '=', sourceId).execute();
    expect(groups.map((g) => g.name).sort()).toEqual(['Administrators', 'All Users', 'Analysts']);
    const keys = await store.db
      .selectFrom('metabase_api_key_version')
      .select(['key_prefix', 'name', 'raw'])
      .where('source_id', '=', sourceId)
      .execute();
    expect(keys).toHaveLength(1);
    expect(keys[0]!.key_prefix).toBe(dataset.api_key[0]!.key_prefix);
    expect(JSON.stringify(keys[0]!.raw)).not.toContain('****');

    // Query logs: every row of January and February, by month, with their executors.
    expect(enterprise.requests.filter((r) => r.includes('/api/ee/logs/query_execution/'))).toEqual([
      'GET /api/ee/logs/query_execution/2026-01',
      'GET /api/ee/logs/query_execution/2026-02',
      'GET /api/ee/logs/query_execution/2026-03',
    ]);
    const queries = await store.db
      .selectFrom('metabase_query_execution')
      .select(['upstream_id', 'executor_id'])
      .where('source_id', '=', sourceId)
      .execute();
    expect(queries.map((q) => q.upstream_id).sort()).toEqual(dataset.query_execution.map((q) => String(q.id)).sort());
    const byStream = Object.fromEntries(summary.streams.map((s) => [s.stream, s]));
    expect(byStream['metabase-query-executions']!.coverage.map((r) => [r.from.toISOString(), r.to.toISOString()])).toEqual([
      ['2026-01-01T00:00:00.000Z', now.toISOString()],
    ]);

    const caps = await store.db
      .selectFrom('source_capability')
      .select(['capability', 'available', 'reason'])
      .where('source_id', '=', sourceId)
      .execute();
    expect(caps.find((c) => c.capability === 'metabase-login-history')).toMatchObject({
      available: false,
      reason: 'login history is only in the application database',
    });
    expect(byStream['metabase-logins']!.notes[0]).toMatch(/only in the application database/);
  });

  it('records the query logs as not available on an open-source instance', async () => {
    const summary = await collectMetabase(await makeContext(store, { METABASE_URL: oss.url, METABASE_API_KEY: apiKey }, now), {
      since: new Date('2026-02-01T00:00:00Z'),
    });
    const queries = summary.streams.find((s) => s.stream === 'metabase-query-executions')!;
    expect(queries.records).toBe(0);
    expect(queries.coverage).toEqual([]);
    expect(queries.notes.join(' ')).toMatch(/not available through the API of this edition \(404/);
    const cap = await store.db
      .selectFrom('source_capability')
      .select(['available'])
      .where('source_id', '=', summary.sourceId)
      .where('capability', '=', 'metabase-table:query_execution')
      .executeTakeFirstOrThrow();
    expect(cap.available).toBe(false);
  });

  it('records what the API cannot see and leaves scoped keys not evaluable rather than passed', async () => {
    // A SCIM-scoped key (no service user) beside the ordinary one: GET /api/api-key leaves it out
    // (metabase/metabase src/metabase/api_keys/api.clj: select :scope nil).
    const scoped = {
      ...dataset,
      api_key: [
        ...dataset.api_key,
        {
          ...dataset.api_key[0]!,
          id: 2,
          user_id: null,
          key_prefix: 'mb_Scim',
          name: 'SCIM',
          scope: 'scim',
          created_at: '2023-01-01T00:00:00Z',
        },
      ],
    };
    const emulator = await startMetabaseApiEmulator({ dataset: scoped, apiKey, edition: 'enterprise' });
    try {
      const summary = await collectMetabase(await makeContext(store, { METABASE_URL: emulator.url, METABASE_API_KEY: apiKey }, now), {
        since: new Date('2026-03-01T00:00:00Z'),
      });
      const keys = await store.db
        .selectFrom('metabase_api_key_version')
        .select(['upstream_id', 'key_prefix', 'user_id', 'creator_id'])
        .where('source_id', '=', summary.sourceId)
        .execute();
      expect(keys).toEqual([{ upstream_id: '1', key_prefix: dataset.api_key[0]!.key_prefix, user_id: null, creator_id: null }]);
      const caps = await store.db
        .selectFrom('source_capability')
        .select(['capability', 'available', 'reason'])
        .where('source_id', '=', summary.sourceId)
        .execute();
      const cap = Object.fromEntries(caps.map((c) => [c.capability, c]));
      expect(cap['metabase-column:api_key.scope']).toMatchObject({
        available: false,
        reason: expect.stringMatching(/scoped \(SCIM\) keys are not listed/),
      });
      expect(cap['metabase-column:core_user.type']).toMatchObject({
        available: false,
        reason: expect.stringMatching(/only personal accounts/),
      });
      expect(cap['metabase-column:core_user.deactivated_at']?.available).toBe(false);
      expect(cap['metabase-column:api_key.user_id']?.available).toBe(false);
      expect(cap['metabase-column:api_key.creator_id']?.available).toBe(false);
      expect(cap['metabase-column:api_key.key_prefix']?.available).toBe(true);

      // No Entra source, only API-collected Metabase: the one listed key is young, the
      // scoped one (three years old) cannot be seen, so the rule does not pass.
      const result = await correlate(store.db, {
        period: { from: new Date('2026-01-01T00:00:00Z'), to: now },
        asOf: now,
        parameters: resolveRuleParameters({}, { adminGroupIds: [] }),
        metabaseAppIds: [],
        adminGroupIds: [],
        rules: [staleCredential],
      });
      const outcome = result.rules[0]!;
      expect(outcome.status).toBe('not-evaluable');
      expect(outcome.reason).toMatch(/scoped \(SCIM\) API keys are not listed/);

      // The report says what the API path cannot see, under the source.
      const model = await buildReportModel({
        db: store.db,
        framework: 'soc2',
        period: { from: new Date('2026-01-01T00:00:00Z'), to: now },
        generatedAt: now,
        correlation: result,
      });
      const notes = model.sources.find((s) => s.sourceId === summary.sourceId)!.notes;
      expect(notes).toContain(
        'through the API: GET /api/api-key lists only keys with scope NULL: scoped (SCIM) keys are not listed, so their age is not evaluable',
      );
      expect(notes.some((n) => n.startsWith('through the API: GET /api/user lists only personal accounts'))).toBe(true);
      expect(notes.some((n) => n.includes('masked_key'))).toBe(false);
    } finally {
      await emulator.close();
    }
  });
});
