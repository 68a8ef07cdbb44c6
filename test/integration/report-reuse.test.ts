// A report reuses a correlation run of identical inputs over an unchanged store (issue 13:
// at 1M sign-ins the correlation is most of a report), and only then: the same content
// as a fresh evaluation, the run it used recorded with the stored report, and a new run
// as soon as anything the run read has changed (evidence, manual links) or its derived
// rows have been pruned.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN_GROUP, APP_ID, asOf, ENTRA, generateCorrelationStore, METABASE, period } from '../../bench/lib/correlation-store.js';
import { type Config, parseConfig } from '../../src/config.js';
import { KEEP_DERIVED_RUNS } from '../../src/correlation/correlate.js';
import { correlateFromConfig } from '../../src/correlation/service.js';
import { type CreatedReport, createReport } from '../../src/reports/service.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { signInRecord } from '../support/factories.js';

describe('a report reuses a correlation run of identical inputs', () => {
  let store: TestStore;
  let config: Config;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-reuse-'));
  let runs = 0;

  const report = (options: { reuse?: boolean } = {}): Promise<CreatedReport> =>
    createReport(
      { db: store.db, config, now: () => new Date(asOf.getTime() + (runs += 1) * 3_600_000) },
      {
        framework: 'soc2',
        period,
        formats: ['json'],
        outDir: path.join(dataDir, `out-${runs}`),
        ...(options.reuse === undefined ? {} : { reuseCorrelation: options.reuse }),
      },
    );
  const storedRunOf = async (reportId: string) =>
    (await store.db.selectFrom('report').select('correlation_run_id').where('id', '=', reportId).executeTakeFirstOrThrow())
      .correlation_run_id;

  beforeAll(async () => {
    store = await openTestStore('postgres');
    await generateCorrelationStore(store.db, 0.003);
    config = parseConfig(
      {
        DATABASE_URL: 'postgres://unused',
        ENTRA_METABASE_APP_IDS: APP_ID,
        ENTRA_ADMIN_GROUP_IDS: ADMIN_GROUP,
        ACCESSTRAIL_DATA_DIR: dataDir,
        ACCESSTRAIL_LOG_LEVEL: 'silent',
      },
      dataDir,
    );
  }, 300_000);

  afterAll(async () => {
    await store?.dispose();
  });

  it('reads the earlier run back, with the same content as a fresh evaluation, and records the run it used', async () => {
    const first = await report();
    expect(first.correlation.reused).toBe(false);
    expect(first.model.findings.length).toBeGreaterThan(0);
    expect(await storedRunOf(first.reportId)).toBe(first.correlation.runId);

    const second = await report();
    expect(second.correlation.reused).toBe(true);
    expect(second.correlation.runId).toBe(first.correlation.runId);
    expect(second.contentSha256).toBe(first.contentSha256);
    // Read back rule by rule as the run returned them.
    expect(second.correlation.rules.map((r) => [r.id, r.status, r.findings.length, r.notEvaluableCount])).toEqual(
      first.correlation.rules.map((r) => [r.id, r.status, r.findings.length, r.notEvaluableCount]),
    );
    expect(second.correlation.matches).toEqual(first.correlation.matches);

    const fresh = await report({ reuse: false });
    expect(fresh.correlation.reused).toBe(false);
    expect(fresh.correlation.runId).toBeGreaterThan(first.correlation.runId);
    expect(fresh.contentSha256).toBe(first.contentSha256);
  });

  it('evaluates afresh once evidence was written after the run started', async () => {
    const before = await report();
    expect(before.correlation.reused).toBe(true);
    // One sign-in outside the period: the findings stay, but the store changed.
    await createEvidenceRepository(store.db).writeEvents('entra_sign_in', ENTRA, [
      signInRecord({ id: 'reuse-late-sign-in', at: '2026-07-02T09:00:00Z' }),
    ]);
    const after = await report();
    expect(after.correlation.reused).toBe(false);
    expect(after.correlation.runId).toBeGreaterThan(before.correlation.runId);
    expect(after.contentSha256).toBe(before.contentSha256);
    expect((await report()).correlation.runId).toBe(after.correlation.runId);
  });

  it('evaluates afresh after a manual link was added', async () => {
    const before = await report();
    expect(before.correlation.reused).toBe(true);
    await store.db
      .insertInto('manual_identity_link')
      .values({ metabase_source_id: METABASE, account_id: 999_999, person_id: 'nobody', created_by: 'test', reason: 'reuse test' })
      .execute();
    const after = await report();
    expect(after.correlation.reused).toBe(false);
  });

  it('does not reuse a run whose derived rows were pruned', async () => {
    const kept = await report();
    expect(kept.correlation.reused).toBe(true);
    for (let i = 0; i < KEEP_DERIVED_RUNS; i += 1)
      await correlateFromConfig(store.db, config, { from: period.from, to: period.to, asOf: new Date(asOf.getTime() - i * 60_000) });
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from identity_link where run_id = ${kept.correlation.runId}`.execute(store.db);
    expect(rows[0]!.n).toBe(0);
    const after = await report();
    expect(after.correlation.reused).toBe(false);
    expect(after.contentSha256).toBe(kept.contentSha256);
  });
});
