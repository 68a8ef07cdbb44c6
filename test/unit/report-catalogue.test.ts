import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { defaultCatalogueDir, loadRuleCatalogue } from '../../src/correlation/rule-catalogue.js';
import {
  buildControlSections,
  controlSources,
  controlStatus,
  loadFrameworkCatalogue,
  type RuleResult,
} from '../../src/reports/catalogue.js';

const RULES_OF_SPEC = [
  'access-after-termination',
  'orphaned-account',
  'unlinked-account',
  'sso-bypass',
  'single-factor-sign-in',
  'unjustified-privilege',
  'dormant-account',
  'stale-credential',
  'log-gap',
  'failed-sign-in-burst',
  'risky-sign-in',
];

const evaluated = (id: string, findingCount = 0, notEvaluableCount = 0): RuleResult => ({
  id,
  status: 'evaluated',
  reason: null,
  findingCount,
  notEvaluableCount,
});
const fullSources = [
  { kind: 'entra-sign-ins' as const, sourceId: 'entra', gaps: [] },
  { kind: 'metabase' as const, sourceId: 'mb', gaps: [] },
];

describe('rule and framework catalogues', () => {
  it('hold every rule of rules.md with its defaults, severities and controls', () => {
    const rules = loadRuleCatalogue();
    expect(rules.rules.map((rule) => rule.id).sort()).toEqual([...RULES_OF_SPEC].sort());
    const byId = new Map(rules.rules.map((rule) => [rule.id, rule]));
    expect(byId.get('access-after-termination')?.parameters).toEqual({ graceMinutes: 0 });
    expect(byId.get('sso-bypass')?.parameters).toEqual({ beforeMinutes: 10, afterMinutes: 2 });
    expect(byId.get('dormant-account')?.parameters).toEqual({ thresholdDays: 90 });
    expect(byId.get('stale-credential')?.parameters).toEqual({ maxAgeDays: 90, warningDays: 30 });
    expect(byId.get('log-gap')?.parameters).toEqual({ toleranceHours: 24 });
    expect(byId.get('failed-sign-in-burst')?.parameters).toMatchObject({ threshold: 10, windowMinutes: 10 });
    expect(byId.get('risky-sign-in')?.parameters).toMatchObject({ levels: ['medium', 'high'] });
    expect(byId.get('dormant-account')?.severity).toBe('low');
    expect(byId.get('unlinked-account')?.controls).toEqual(['CC6.1', 'CC6.2', 'A.5.16']);
  });

  it('map controls to rules consistently in both directions', () => {
    const rules = loadRuleCatalogue();
    for (const framework of ['soc2', 'iso27001'] as const) {
      const catalogue = loadFrameworkCatalogue(framework);
      for (const control of catalogue.controls) {
        for (const ruleId of control.rules) {
          expect(rules.rules.find((rule) => rule.id === ruleId)?.controls, `${ruleId} should list ${control.id}`).toContain(control.id);
        }
      }
      for (const rule of rules.rules) {
        for (const controlId of rule.controls.filter((id) => catalogue.controls.some((control) => control.id === id))) {
          expect(catalogue.controls.find((control) => control.id === controlId)?.rules).toContain(rule.id);
        }
      }
    }
    expect(loadFrameworkCatalogue('soc2').controls.map((control) => control.id)).toEqual(['CC6.1', 'CC6.2', 'CC6.3', 'CC6.6', 'CC7.2']);
    const iso = loadFrameworkCatalogue('iso27001');
    expect(iso.controls.map((control) => control.id)).toEqual([
      'A.5.15',
      'A.5.16',
      'A.5.17',
      'A.5.18',
      'A.8.2',
      'A.8.5',
      'A.8.15',
      'A.8.16',
    ]);
    expect(iso.controls.find((control) => control.id === 'A.5.18')?.formerIds).toEqual(['A.9.2.2', 'A.9.2.5', 'A.9.2.6']);
  });

  it('name the file and the field when a catalogue is wrong', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'catalogue-'));
    const source = defaultCatalogueDir();
    writeFileSync(path.join(dir, 'rules.json'), readFileSync(path.join(source, 'rules.json')));
    const soc2 = JSON.parse(readFileSync(path.join(source, 'soc2.json'), 'utf8')) as { controls: { rules: string[]; tested?: string }[] };
    soc2.controls[1]!.rules.push('made-up-rule');
    writeFileSync(path.join(dir, 'soc2.json'), JSON.stringify(soc2));
    expect(() => loadFrameworkCatalogue('soc2', dir)).toThrow(/soc2\.json: field controls\.1\.rules\.4 names unknown rule made-up-rule/);

    delete soc2.controls[0]!.tested;
    soc2.controls[1]!.rules.pop();
    writeFileSync(path.join(dir, 'soc2.json'), JSON.stringify(soc2));
    expect(() => loadFrameworkCatalogue('soc2', dir)).toThrow(/soc2\.json: field controls\.0\.tested/);

    writeFileSync(path.join(dir, 'soc2.json'), '{ not json');
    expect(() => loadFrameworkCatalogue('soc2', dir)).toThrow(/soc2\.json is not valid JSON/);
  });
});

describe('controlStatus', () => {
  const base = { ruleIds: ['sso-bypass', 'single-factor-sign-in'], reliesOn: ['entra-sign-ins', 'metabase'] as const };

  it('is effective only when every rule ran over full coverage and found nothing', () => {
    expect(
      controlStatus({ ...base, ruleResults: [evaluated('sso-bypass'), evaluated('single-factor-sign-in')], sources: fullSources }),
    ).toEqual({ status: 'effective', reasons: [] });
  });

  it('reports exceptions when any rule found something, keeping the other reasons', () => {
    const result = controlStatus({
      ...base,
      ruleResults: [
        evaluated('sso-bypass', 2),
        { id: 'single-factor-sign-in', status: 'not-evaluable', reason: 'v1.0-only sign-ins', findingCount: 0, notEvaluableCount: 0 },
      ],
      sources: fullSources,
    });
    expect(result.status).toBe('exceptions');
    expect(result.reasons.join()).toMatch(/single-factor-sign-in is not evaluable: v1.0-only sign-ins/);
  });

  it('is not evaluable when a rule lacked data, was not run, or a source was never collected', () => {
    expect(
      controlStatus({
        ...base,
        ruleResults: [
          evaluated('sso-bypass'),
          {
            id: 'single-factor-sign-in',
            status: 'not-evaluable',
            reason: 'no authenticationRequirement',
            findingCount: 0,
            notEvaluableCount: 0,
          },
        ],
        sources: fullSources,
      }).status,
    ).toBe('not-evaluable');
    const missingRule = controlStatus({ ...base, ruleResults: [evaluated('sso-bypass')], sources: fullSources });
    expect(missingRule).toEqual({ status: 'not-evaluable', reasons: ['rule single-factor-sign-in was not evaluated for this period'] });
    const missingSource = controlStatus({
      ...base,
      ruleResults: [evaluated('sso-bypass'), evaluated('single-factor-sign-in')],
      sources: [fullSources[1]!],
    });
    expect(missingSource).toEqual({ status: 'not-evaluable', reasons: ['no entra-sign-ins source was collected'] });
  });

  it('is incomplete when a relied-on source has a gap or a rule could not judge some instants', () => {
    const gap = { from: '2026-05-10T00:00:00.000Z', to: '2026-05-11T12:00:00.000Z' };
    const withGap = controlStatus({
      ...base,
      ruleResults: [evaluated('sso-bypass'), evaluated('single-factor-sign-in')],
      sources: [{ ...fullSources[0]!, gaps: [gap] }, fullSources[1]!],
    });
    expect(withGap.status).toBe('incomplete');
    expect(withGap.reasons).toEqual([
      'entra-sign-ins source entra has no coverage from 2026-05-10T00:00:00.000Z to 2026-05-11T12:00:00.000Z',
    ]);
    // A gap in a source the control does not rely on changes nothing.
    const elsewhere = controlStatus({
      ...base,
      ruleResults: [evaluated('sso-bypass'), evaluated('single-factor-sign-in')],
      sources: [...fullSources, { kind: 'entra-directory-audits', sourceId: 'entra', gaps: [gap] }],
    });
    expect(elsewhere.status).toBe('effective');
    const unjudged = controlStatus({
      ...base,
      ruleResults: [evaluated('sso-bypass', 0, 3), evaluated('single-factor-sign-in')],
      sources: fullSources,
    });
    expect(unjudged).toEqual({ status: 'incomplete', reasons: ['rule sso-bypass could not judge 3 instant(s) outside source coverage'] });
  });

  it('builds control sections in catalogue order with their findings', () => {
    const rules = loadRuleCatalogue();
    const framework = loadFrameworkCatalogue('iso27001');
    expect(controlSources(framework.controls[2]!, rules)).toEqual(['entra-directory', 'metabase']);
    const sections = buildControlSections({
      framework,
      rules,
      ruleResults: rules.rules.map((rule) => evaluated(rule.id, rule.id === 'dormant-account' ? 1 : 0)),
      findings: [{ id: 'dormant-account:b', rule: 'dormant-account' }],
      sources: ['entra-sign-ins', 'entra-directory-audits', 'entra-directory', 'metabase'].map((kind) => ({
        kind: kind as 'metabase',
        sourceId: 's',
        gaps: [],
      })),
    });
    expect(sections.map((section) => [section.id, section.status])).toEqual([
      ['A.5.15', 'effective'],
      ['A.5.16', 'effective'],
      ['A.5.17', 'effective'],
      ['A.5.18', 'exceptions'],
      ['A.8.2', 'effective'],
      ['A.8.5', 'effective'],
      ['A.8.15', 'effective'],
      ['A.8.16', 'effective'],
    ]);
    expect(sections[3]?.findingIds).toEqual(['dormant-account:b']);
  });
});
