// The whole pipeline on the synthetic organisation: emulators → collectors (real
// Microsoft libraries, a real Metabase application database) → correlation → signed
// reports. The findings must be exactly the ones the organisation was built to hold.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findingSubjectKey } from '../../src/demo/organisation.js';
import { type DemoResult, runDemo } from '../../src/demo/run.js';
import { createLogger } from '../../src/logger.js';
import { createReport } from '../../src/reports/service.js';
import { loadTrustedPublicKeys, verifySignedModel } from '../../src/reports/signing.js';
import { verifyReportFiles } from '../../src/reports/verify-files.js';
import { verifyChain } from '../../src/store/chain.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { oscalSchemaValidator, reportSchemaValidator } from '../support/schemas.js';

describe('the pipeline on the synthetic organisation', () => {
  let database: TestDatabase | undefined;
  let result: DemoResult;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-pipeline-'));

  beforeAll(async () => {
    if (await postgresAvailable()) database = await createTestDatabase();
    result = await runDemo({
      dataDir,
      ...(database ? { databaseUrl: database.url } : {}),
      formats: ['json', 'csv', 'oscal'],
      logger: createLogger({ level: 'silent' }),
      now: new Date('2026-11-20T12:00:00Z'),
      keepStore: true,
    });
  }, 300_000);

  afterAll(async () => {
    await result?.store?.close();
    await database?.drop();
  });

  it('finds exactly the planted findings, no more, no fewer', () => {
    const found = result.correlation.findings.map((f) => `${f.rule} ${findingSubjectKey(f)}`).sort();
    const expected = result.organisation.expectedFindings.map((f) => `${f.rule} ${f.subject}`).sort();
    expect(found).toEqual(expected);
    expect(result.correlation.rules.every((rule) => rule.status === 'evaluated')).toBe(true);
  });

  it('judges every login (none falls outside coverage) and links all but the planted cases', () => {
    expect(result.correlation.matches['not-evaluable']).toBe(0);
    expect(result.correlation.matches.explained).toBeGreaterThan(100);
    expect(result.correlation.links).toMatchObject({ ambiguous: 1, 'non-human': 1 });
  });

  it("stores each finding's JSON as the API serves it with the run's findings (migration 0017)", async () => {
    const rows = await result
      .store!.db.selectFrom('finding')
      .select(['id', 'api_json'])
      .where('run_id', '=', result.correlation.runId)
      .execute();
    expect(rows.length).toBe(result.correlation.findings.length);
    for (const row of rows) expect((JSON.parse(row.api_json!) as { id: string }).id).toBe(row.id);
  });

  it('writes reports whose every file verifies, and whose hash does not depend on when they were generated', async () => {
    const [soc2] = result.reports;
    expect(soc2!.model.controls.map((c) => c.status)).toEqual(['exceptions', 'exceptions', 'exceptions', 'exceptions', 'exceptions']);
    const files = [...soc2!.files.map((f) => f.path), soc2!.manifest.path];
    const checked = await verifyReportFiles(files, { dataDir: result.demoDir, print: () => {} });
    expect(checked.every((c) => c.ok)).toBe(true);
    const json = readFileSync(soc2!.files.find((f) => f.format === 'json')!.path, 'utf8');
    expect(verifySignedModel(json, loadTrustedPublicKeys(result.demoDir)).ok).toBe(true);

    const again = await createReport(
      { db: result.store!.db, config: result.config, now: () => new Date('2026-11-21T08:00:00Z') },
      {
        framework: 'soc2',
        period: { from: new Date(soc2!.model.period.from), to: new Date(soc2!.model.period.to) },
        formats: ['json'],
        outDir: path.join(dataDir, 'again'),
      },
    );
    expect(again.model.generatedAt).not.toBe(soc2!.model.generatedAt);
    expect(again.contentSha256).toBe(soc2!.contentSha256);

    // Stored once (src/reports/service.ts): the served bytes are the JSON file's, the
    // jsonb copy Postgres parsed from them is the same document, and the same content
    // again left the first row as it was.
    const rows = await result
      .store!.db.selectFrom('report')
      .select(['content', 'content_json', 'generated_at'])
      .where('id', '=', soc2!.reportId)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.content_json).toBe(json);
    expect(rows[0]!.content).toEqual(JSON.parse(json));
    expect(new Date(rows[0]!.generated_at as string | Date).toISOString()).toBe(soc2!.model.generatedAt);
  });

  it('builds reports that validate against the report JSON Schema and the official OSCAL schema', () => {
    const validateReport = reportSchemaValidator();
    const validateOscal = oscalSchemaValidator();
    for (const report of result.reports) {
      const json = JSON.parse(readFileSync(report.files.find((f) => f.format === 'json')!.path, 'utf8')) as unknown;
      expect(validateReport(json), JSON.stringify(validateReport.errors?.slice(0, 3))).toBe(true);
      const oscal = JSON.parse(readFileSync(report.files.find((f) => f.format === 'oscal')!.path, 'utf8')) as unknown;
      expect(validateOscal(oscal), JSON.stringify(validateOscal.errors?.slice(0, 3))).toBe(true);
      expect(report.model.populations.humanAccounts.length).toBeGreaterThan(20);
      // Ada (disabled), Bob (HR leave date) and Carol (disabled, then re-enabled): all terminated in the period.
      expect([...report.model.populations.terminatedPeople].map((p) => p.reason).sort()).toEqual([
        'Disable account',
        'Update user',
        'employeeLeaveDateTime',
      ]);
    }
  });

  it('leaves an intact evidence chain', async () => {
    const chain = await verifyChain(result.store!.db);
    expect(chain.intact).toBe(true);
    expect(chain.rows).toBeGreaterThan(1000);
  });
});
