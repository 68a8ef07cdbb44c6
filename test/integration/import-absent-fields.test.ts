// A sign-in export that does not carry a field leaves the rule that needs it not
// evaluable — never "evaluated, 0 findings" (issue 10). The admin center's CSV download
// has no risk columns (header: test/fixtures/imports/README.md), and the
// `InteractiveSignIns_no-requirement.csv` fixture also lacks "Authentication requirement".
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { importEntraFile } from '../../src/collectors/entra/import/index.js';
import { type CollectContext, silentProgress } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { riskySignIn } from '../../src/correlation/rules/risky-sign-in.rule.js';
import { singleFactorSignIn } from '../../src/correlation/rules/single-factor-sign-in.rule.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { ENTRA, runRules } from '../support/evidence-builder.js';

const fixture = (name: string) => path.resolve('test/fixtures/imports', name);

describe('rules over imported sign-ins that lack a field', () => {
  let store: TestStore;
  let context: CollectContext;
  beforeAll(async () => {
    store = await openTestStore('postgres');
    const collection = createCollectionRepository(store.db);
    await collection.upsertSource({ id: ENTRA, kind: 'entra', displayName: 'Contoso' });
    context = {
      store,
      evidence: createEvidenceRepository(store.db),
      collection,
      config: parseConfig({}),
      logger: createLogger({ level: 'silent' }),
      runId: await collection.startRun('import', {}),
      progress: silentProgress,
      now: () => new Date('2026-08-01T00:00:00Z'),
    };
  });
  afterAll(async () => store?.dispose());

  const outcomes = async (from: string, to: string) => {
    const result = await runRules(store.db, { from, to, rules: [riskySignIn, singleFactorSignIn] });
    return Object.fromEntries(result.rules.map((rule) => [rule.id, rule]));
  };

  it('without risk and authentication-requirement columns, risky-sign-in and single-factor-sign-in are not evaluable', async () => {
    const summary = await importEntraFile(context, ENTRA, fixture('InteractiveSignIns_no-requirement.csv'));
    expect(summary).toMatchObject({ records: 2, inserted: 2 });
    const rules = await outcomes('2026-07-03T00:00:00Z', '2026-07-04T00:00:00Z');
    expect(rules['risky-sign-in']).toMatchObject({ status: 'not-evaluable', notEvaluableCount: 2, findings: [] });
    expect(rules['risky-sign-in']!.reason).toContain('without risk columns');
    expect(rules['single-factor-sign-in']).toMatchObject({ status: 'not-evaluable', notEvaluableCount: 2, findings: [] });
    expect(rules['single-factor-sign-in']!.reason).toContain('authenticationRequirement');
  });

  it('the real download (portal labels, no risk columns): single-factor is judged from the label, risk stays not evaluable', async () => {
    await importEntraFile(context, ENTRA, fixture('InteractiveSignIns_2026-07-01_2026-07-02.csv'));
    const rules = await outcomes('2026-07-01T00:00:00Z', '2026-07-02T00:00:00Z');
    // "Single-factor authentication" on Ann's successful Metabase sign-in is a finding.
    expect(rules['single-factor-sign-in']).toMatchObject({ status: 'evaluated' });
    expect(rules['single-factor-sign-in']!.findings.map((f) => [f.subject.personId, f.evidence.map((e) => e.id)])).toEqual([
      ['0a1b2c3d-0000-4000-8000-00000000a001', ['5e1d0001-7a6b-4c3d-9e8f-0123456789ab']],
    ]);
    expect(rules['risky-sign-in']).toMatchObject({ status: 'not-evaluable' });
  });

  it('an export that carries risk is evaluated; sign-ins without it in the same period count as not evaluable', async () => {
    await importEntraFile(context, ENTRA, fixture('SigninLogs_2026-07-04.csv'));
    const rules = await outcomes('2026-07-04T00:00:00Z', '2026-07-05T00:00:00Z');
    expect(rules['risky-sign-in']).toMatchObject({ status: 'evaluated', notEvaluableCount: 0 });
    expect(rules['risky-sign-in']!.findings.map((f) => f.subject.personId)).toEqual(['0a1b2c3d-0000-4000-8000-00000000a001']);
    const mixed = await outcomes('2026-07-01T00:00:00Z', '2026-07-05T00:00:00Z');
    expect(mixed['risky-sign-in']).toMatchObject({ status: 'evaluated', notEvaluableCount: 5 });
  });
});
