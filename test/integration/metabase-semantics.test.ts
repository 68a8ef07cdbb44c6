// Metabase as it really behaves, end to end (application database → collector → rules):
// - regenerating an API key keeps `created_at` and rewrites `key_prefix`/`updated_at`,
//   and writes an `api-key-regenerate` audit event (metabase/metabase
//   src/metabase/api_keys/api.clj @06f5232be2d4, api_keys/models/api_key.clj @061ea3cf):
//   a key rotated 11 days ago is not stale, whether the rotation is seen in audit_log or
//   only as a key_prefix change between two snapshots (OSS writes no audit_log);
// - audit-max-retention-days (default 720, src/metabase/audit_app/settings.clj
//   @085817cffb3d) bounds what retention can have deleted: a sparse audit_log (a row a
//   week) raises no log-gap, one truncated by a 30-day retention does;
// - subscription and alert sends run as their owner with query_execution.context
//   `dashboard-subscription` / `pulse` (src/metabase/lib/schema/info.cljc @02f3a381,
//   notification/payload/execute.clj @00652a13): they are not the owner's activity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectMetabaseWith } from '../../src/collectors/metabase/index.js';
import { correlate } from '../../src/correlation/correlate.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import { accessAfterTermination } from '../../src/correlation/rules/access-after-termination.rule.js';
import { dormantAccount } from '../../src/correlation/rules/dormant-account.rule.js';
import { judgeTruncation, logGap } from '../../src/correlation/rules/log-gap.rule.js';
import { staleCredential } from '../../src/correlation/rules/stale-credential.rule.js';
import type { Rule } from '../../src/correlation/types.js';
import {
  type AuditLogRow,
  connectFixture,
  createMetabaseAppDatabase,
  generateMetabaseDataset,
  type MetabaseDataset,
} from '../../src/emulators/metabase/index.js';
import { retentionFacts } from '../../src/store/metabase-retention.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { evidenceBuilder } from '../support/evidence-builder.js';
import { type AppDatabase, createAppDatabase, makeContext } from './metabase-helpers.js';

const DAY = 86_400_000;
const asOf = new Date('2026-11-01T00:00:00Z');
const periodFrom = new Date(asOf.getTime() - 90 * DAY);
const ago = (days: number) => new Date(asOf.getTime() - days * DAY);

async function runAll(store: TestStore, rules: Rule[], at: Date = asOf) {
  const result = await correlate(store.db, {
    period: { from: periodFrom, to: at },
    asOf: at,
    parameters: resolveRuleParameters({}, { adminGroupIds: [] }),
    metabaseAppIds: [],
    adminGroupIds: [],
    rules,
  });
  return result.rules;
}
const run = async (store: TestStore, rule: Rule, at: Date = asOf) => (await runAll(store, [rule], at))[0]!;

async function exec(url: string, text: string, params: unknown[] = []) {
  const connection = await connectFixture(url);
  try {
    return await connection.query(text, params);
  } finally {
    await connection.close();
  }
}

describe.each(['postgres', 'mysql'] as const)('Metabase API key age on %s', (engine) => {
  let store: TestStore;
  let app: AppDatabase;
  let dataset: MetabaseDataset;

  beforeAll(async () => {
    store = await openTestStore('postgres');
    app = await createAppDatabase(engine);
    dataset = generateMetabaseDataset({ start: ago(20), days: 3, users: 2, seed: 7 });
    const [rotated] = dataset.api_key;
    // Created 1,061 days before as-of, regenerated 11 days before: created_at kept,
    // key_prefix and updated_at rewritten, an api-key-regenerate event written.
    Object.assign(rotated!, { created_at: ago(1061), updated_at: ago(11), key_prefix: 'mb_New1' });
    dataset.audit_log.push({
      id: 0,
      topic: 'api-key-regenerate',
      timestamp: ago(11),
      user_id: 1,
      model: 'ApiKey',
      model_id: rotated!.id,
      details: JSON.stringify({ previous: { key_prefix: 'mb_Old1' }, new: { key_prefix: 'mb_New1' } }),
    } satisfies AuditLogRow);
    dataset.audit_log.forEach((row, i) => (row.id = i + 1));
    // A second key, never regenerated, 400 days old: stale.
    const keyUser = {
      ...dataset.core_user.find((u) => u.id === rotated!.user_id)!,
      id: 90,
      email: 'api-key-user-second@api-key.invalid',
      first_name: 'Old key',
    };
    dataset.core_user.push(keyUser);
    dataset.api_key.push({
      ...rotated!,
      id: 2,
      user_id: 90,
      key_prefix: 'mb_Old2',
      name: 'Old key',
      created_at: ago(400),
      updated_at: ago(400),
    });
    // A third key rotated without any audit event (OSS): seen only as a prefix change between snapshots.
    dataset.core_user.push({ ...keyUser, id: 91, email: 'api-key-user-third@api-key.invalid', first_name: 'OSS key' });
    dataset.api_key.push({
      ...rotated!,
      id: 3,
      user_id: 91,
      key_prefix: 'mb_Pre3',
      name: 'OSS key',
      created_at: ago(500),
      updated_at: ago(500),
    });
    await createMetabaseAppDatabase({ url: app.url, version: 60, dataset, installedAt: ago(1100) });
  });
  afterAll(async () => {
    await store?.dispose();
    await app?.drop();
  });

  it('dates the secret from its latest regeneration: a key rotated 11 days ago is not stale', async () => {
    const context = await makeContext(store, { METABASE_DB_URL: app.url }, ago(5));
    await collectMetabaseWith(context, {}, { batchRows: 50 });
    const outcome = await run(store, staleCredential, ago(5));
    const flagged = outcome.findings.map((f) => f.detail['name']);
    expect(flagged).not.toContain(dataset.api_key[0]!.name);
    expect(flagged).toContain('Old key');
    expect(flagged).toContain('OSS key');
    const rotated = (outcome.detail['rotatedKeys'] as { id: string; regenerated: string | null }[]).find((k) => k.id === '1');
    expect(rotated?.regenerated).toBe(ago(11).toISOString());
  });

  it('sees a regeneration without an audit event as the key_prefix change between snapshots', async () => {
    // Regenerated 3 days before as-of on an instance without audit_log rows for it.
    await exec(
      app.url,
      engine === 'postgres'
        ? 'update api_key set key_prefix = $1, updated_at = $2 where id = 3'
        : 'update api_key set key_prefix = ?, updated_at = ? where id = 3',
      ['mb_New3', ago(3)],
    );
    const context = await makeContext(store, { METABASE_DB_URL: app.url }, asOf);
    await collectMetabaseWith(context, {}, { batchRows: 50 });
    const outcome = await run(store, staleCredential);
    const flagged = outcome.findings.map((f) => f.detail['name']);
    expect(flagged).toEqual(['Old key']);
    const third = (outcome.detail['rotatedKeys'] as { id: string; prefixChanged: string | null }[]).find((k) => k.id === '3');
    // updated_at lies between the two observations, so it dates the change.
    expect(third?.prefixChanged).toBe(ago(3).toISOString());
    const old = outcome.findings.find((f) => f.detail['name'] === 'Old key')!;
    expect(old.summary).toMatch(/last replaced 400 days before as-of .*never regenerated/);
  });
});

describe.each(['postgres', 'mysql'] as const)('log-gap judged against Metabase retention on %s', (engine) => {
  let store: TestStore;
  const apps: AppDatabase[] = [];

  /** An Enterprise-like instance: 3 years old, a week between audit_log rows from `firstAudit` on. */
  async function instance(firstAudit: Date, settings: { key: string; value: string }[] = []) {
    const app = await createAppDatabase(engine);
    apps.push(app);
    const dataset = generateMetabaseDataset({ start: ago(95), days: 95, users: 1, seed: 3, queriesPerLogin: 1 });
    const audit: AuditLogRow[] = [];
    for (let at = firstAudit.getTime(); at < asOf.getTime(); at += 7 * DAY) {
      audit.push({
        id: audit.length + 1,
        topic: 'card-update',
        timestamp: new Date(at),
        user_id: 1,
        model: 'Card',
        model_id: 1,
        details: '{}',
      });
    }
    dataset.audit_log = audit;
    dataset.setting = settings;
    await createMetabaseAppDatabase({ url: app.url, version: 60, dataset, installedAt: ago(3 * 365) });
    return app;
  }

  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await store?.dispose();
    for (const app of apps) await app.drop();
  });

  it('raises nothing for a sparse audit_log whose oldest row is after the period start', async () => {
    const app = await instance(new Date(periodFrom.getTime() + 5 * DAY));
    const context = await makeContext(store, { METABASE_DB_URL: app.url }, asOf);
    const summary = await collectMetabaseWith(context, {}, { batchRows: 500 });
    const outcome = await run(store, logGap);
    const mine = outcome.findings.filter((f) => f.detail['sourceId'] === summary.sourceId);
    expect(mine.filter((f) => f.detail['stream'] === 'metabase-audit-events')).toEqual([]);
    const explained = (outcome.detail['explained'] as Record<string, { why: string; from: string; to: string }[]>)[
      `${summary.sourceId} metabase-audit-events`
    ];
    expect(explained).toEqual([
      { why: 'sparse', from: periodFrom.toISOString(), to: new Date(periodFrom.getTime() + 5 * DAY).toISOString() },
    ]);
  });

  it('raises retention truncation when a 30-day retention deleted the rows before the oldest kept one', async () => {
    // What a 30-day retention leaves: rows from 30 days before the collection on.
    const app = await instance(ago(30), [{ key: 'audit-max-retention-days', value: '30' }]);
    const context = await makeContext(store, { METABASE_DB_URL: app.url }, asOf);
    const summary = await collectMetabaseWith(context, {}, { batchRows: 500 });
    const outcome = await run(store, logGap);
    const audit = outcome.findings.filter(
      (f) => f.detail['sourceId'] === summary.sourceId && f.detail['stream'] === 'metabase-audit-events',
    );
    expect(
      audit.map((f) => [f.detail['kind'], f.detail['from'], f.detail['to'], f.detail['retentionDays'], f.detail['retentionBasis']]),
    ).toEqual([['retention', periodFrom.toISOString(), ago(30).toISOString(), 30, 'setting-table']]);
    expect(audit[0]!.summary).toMatch(/retention truncated the log before it was archived \(retention 30 days, setting-table\)/);
  });

  it('takes METABASE_AUDIT_MAX_RETENTION_DAYS over Metabase’s default, and 0 as keep forever', async () => {
    const app = await instance(ago(30));
    const forever = await makeContext(store, { METABASE_DB_URL: app.url, METABASE_AUDIT_MAX_RETENTION_DAYS: '0' }, asOf);
    const summary = await collectMetabaseWith(forever, {}, { batchRows: 500 });
    const outcome = await run(store, logGap);
    // Nothing can have been deleted: the 60 days before the oldest row held no rows.
    expect(
      outcome.findings.filter((f) => f.detail['sourceId'] === summary.sourceId && f.detail['stream'] === 'metabase-audit-events'),
    ).toEqual([]);
    const thirty = await makeContext(store, { METABASE_DB_URL: app.url, METABASE_AUDIT_MAX_RETENTION_DAYS: '20' }, asOf);
    await collectMetabaseWith(thirty, {}, { batchRows: 500 });
    // 20 is read as Metabase's minimum, 30.
    const again = await run(store, logGap);
    const audit = again.findings.filter((f) => f.detail['sourceId'] === summary.sourceId && f.detail['stream'] === 'metabase-audit-events');
    expect(audit.map((f) => [f.detail['kind'], f.detail['retentionDays'], f.detail['retentionBasis']])).toEqual([
      ['retention', 30, 'config'],
    ]);
  });
});

describe("scheduled deliveries are the owner's schedule, not the owner acting", () => {
  let store: TestStore;
  let app: AppDatabase;

  beforeAll(async () => {
    store = await openTestStore('postgres');
    app = await createAppDatabase('postgres');
    // Both signed in 200 days ago and never again.
    const dataset = generateMetabaseDataset({
      start: ago(200),
      days: 1,
      people: [
        { email: 'ada@contoso.com', firstName: 'Ada', lastName: 'L' },
        { email: 'bob@contoso.com', firstName: 'Bob', lastName: 'M' },
      ],
    });
    const query = (executor: number, when: Date, context: string) => ({
      id: dataset.query_execution.length + 1,
      hash: 'cd'.repeat(32),
      started_at: when,
      running_time: 40,
      result_rows: 3,
      native: false,
      context,
      executor_id: executor,
      card_id: 4,
      dashboard_id: context === 'dashboard-subscription' ? 2 : null,
      database_id: 2,
    });
    // Ada's dashboard subscription and alert keep sending after she left; Bob ran a query himself.
    for (const [executor, when, context] of [
      [1, ago(10), 'dashboard-subscription'],
      [2, ago(10), 'ad-hoc'],
      [1, ago(3), 'dashboard-subscription'],
      [1, ago(2), 'pulse'],
    ] as const) {
      dataset.query_execution.push(query(executor, when, context));
    }
    await createMetabaseAppDatabase({ url: app.url, version: 60, dataset, installedAt: ago(400) });
    const org = evidenceBuilder(store.db);
    await org.users(ago(300).toISOString(), [
      { id: 'p-ada', upn: 'ada@contoso.com' },
      { id: 'p-bob', upn: 'bob@contoso.com' },
    ]);
    await org.audits([{ activity: 'Disable account', at: ago(20).toISOString(), target: 'p-ada' }]);
    await collectMetabaseWith(await makeContext(store, { METABASE_DB_URL: app.url }, asOf), {}, { batchRows: 500 });
  });
  afterAll(async () => {
    await store?.dispose();
    await app?.drop();
  });

  it("dormant-account does not count deliveries as the owner's activity", async () => {
    const [dormant] = await runAll(store, [dormantAccount]);
    const emails = dormant!.findings.map((f) => f.subject.email);
    expect(emails).toContain('ada@contoso.com');
    expect(emails).not.toContain('bob@contoso.com');
  });

  it('access-after-termination reports deliveries after the owner left as their own detail, not as use', async () => {
    const [outcome] = await runAll(store, [accessAfterTermination]);
    const ada = outcome!.findings.filter((f) => f.subject.upn === 'ada@contoso.com');
    expect(ada).toHaveLength(1);
    expect(ada[0]!.detail).toMatchObject({ uses: 0, scheduledDeliveries: 3 });
    expect(ada[0]!.summary).toMatch(/^3 scheduled delivery\(ies\) of subscriptions or alerts owned by ada@contoso.com ran after/);
    expect(ada[0]!.summary).toMatch(/no use by ada@contoso.com themselves/);
    expect(new Set(ada[0]!.evidence.map((e) => e.source))).toEqual(new Set(['metabase-scheduled-delivery']));
  });
});

describe('judgeTruncation: what Metabase retention can have deleted', () => {
  const gap = { from: periodFrom, to: asOf };
  const oldest = ago(30);
  const facts = (over: Partial<Parameters<typeof retentionFacts>[0]>) =>
    retentionFacts({
      fromConfig: undefined,
      fromSettingTable: null,
      auditApp: null,
      firstActivityAt: ago(1000),
      observedAt: asOf,
      ...over,
    });
  const iso = (r: { from: Date; to: Date }) => [r.from.toISOString(), r.to.toISOString()];

  it('reads the days as Metabase does: unset 720, 0 forever, below 30 as 30, config over the setting row', () => {
    expect(facts({}).days).toBe(720);
    expect(facts({ fromConfig: 0 }).days).toBeNull();
    expect(facts({ fromSettingTable: '7' })).toMatchObject({ days: 30, basis: 'setting-table' });
    expect(facts({ fromConfig: 90, fromSettingTable: '30' })).toMatchObject({ days: 90, basis: 'config' });
    expect(facts({ fromSettingTable: 'not a number' })).toMatchObject({ days: 720, basis: 'default' });
  });

  it('never blames retention for audit_log on an open-source instance, which truncates only query_execution', () => {
    const oss = facts({ fromConfig: 30, auditApp: false });
    expect(judgeTruncation(gap, 'audit_log', oldest, oss).truncated).toEqual([]);
    expect(judgeTruncation(gap, 'query_execution', oldest, oss).truncated.map(iso)).toEqual([
      [periodFrom.toISOString(), ago(30).toISOString()],
    ]);
    // login_history is never truncated by it.
    expect(judgeTruncation(gap, 'login_history', oldest, facts({ fromConfig: 30 })).truncated).toEqual([]);
  });

  it('excuses the time before the instance existed, and keeps the part after the oldest row as not collected', () => {
    const young = facts({ fromConfig: 30, firstActivityAt: ago(60) });
    const judged = judgeTruncation({ from: periodFrom, to: ago(10) }, 'audit_log', ago(40), young);
    expect(judged.explained.map((e) => [e.why, ...iso(e.range)])).toEqual([
      ['before-first-activity', periodFrom.toISOString(), ago(60).toISOString()],
    ]);
    expect(judged.truncated.map(iso)).toEqual([[ago(60).toISOString(), ago(40).toISOString()]]);
    expect(judged.uncovered.map(iso)).toEqual([[ago(40).toISOString(), ago(10).toISOString()]]);
  });

  it('without retention facts (collected before they were recorded) keeps the old reading: truncated', () => {
    expect(judgeTruncation(gap, 'audit_log', oldest, undefined).truncated.map(iso)).toEqual([
      [periodFrom.toISOString(), ago(30).toISOString()],
    ]);
  });
});
