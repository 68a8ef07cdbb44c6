import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { oscalSchemaValidator, reportSchemaValidator } from '../support/schemas.js';
import { loadSigningKey, renderJson, renderOscal, sampleReportModel, signModel } from './report-helpers.js';

const key = loadSigningKey({ dataDir: mkdtempSync(path.join(tmpdir(), 'report-schema-')) });

describe('report JSON schema', () => {
  const validate = reportSchemaValidator();

  it('accepts generated models of both frameworks, signed and unsigned', () => {
    for (const framework of ['soc2', 'iso27001'] as const) {
      const model = sampleReportModel({ accounts: 300, events: 20_000, seed: 5, framework });
      expect(validate(model), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      const signed = JSON.parse(renderJson(signModel(model, key))) as unknown;
      expect(validate(signed), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    }
  });

  it('rejects a renamed field, a wrong status and a malformed instant', () => {
    const model = sampleReportModel({ accounts: 20, events: 100, seed: 5 });
    const renamed = JSON.parse(JSON.stringify(model)) as Record<string, unknown>;
    renamed.periods = renamed.period;
    delete renamed.period;
    expect(validate(renamed)).toBe(false);
    const badStatus = JSON.parse(JSON.stringify(model)) as { controls: { status: string }[] };
    badStatus.controls[0]!.status = 'passed';
    expect(validate(badStatus)).toBe(false);
    expect(validate({ ...model, asOf: 'yesterday' })).toBe(false);
  });
});

describe('OSCAL assessment results', () => {
  const validate = oscalSchemaValidator();

  it('validates against the official OSCAL 1.1.3 schema and carries statuses and evidence', () => {
    const signed = signModel(sampleReportModel({ accounts: 500, events: 30_000, seed: 9, framework: 'iso27001' }), key);
    const oscal = JSON.parse(renderOscal(signed)) as {
      'assessment-results': {
        results: {
          start: string;
          end: string;
          observations: { props: { name: string; value: string }[]; 'relevant-evidence'?: unknown[] }[];
          findings: { target: { 'target-id': string; status: { state: string } }; props: { name: string; value: string }[] }[];
        }[];
      };
    };
    expect(validate(oscal), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const result = oscal['assessment-results'].results[0]!;
    expect([result.start, result.end]).toEqual([signed.period.from, signed.period.to]);
    for (const control of signed.controls) {
      const finding = result.findings.find(
        (entry) => entry.target['target-id'] === control.id && entry.props.some((p) => p.name === 'control-status'),
      );
      expect(finding?.props.find((p) => p.name === 'control-status')?.value).toBe(control.status);
      expect(finding?.target.status.state).toBe(control.status === 'effective' ? 'satisfied' : 'not-satisfied');
    }
    for (const finding of signed.findings) {
      const observation = result.observations.find((entry) => entry.props.some((p) => p.name === 'finding-id' && p.value === finding.id));
      expect(observation?.['relevant-evidence'] ?? []).toHaveLength(finding.evidence.length);
    }
  });

  it('is byte-identical for the same model, and different for another', () => {
    const a = renderOscal(signModel(sampleReportModel({ accounts: 100, events: 1000, seed: 2 }), key));
    const b = renderOscal(signModel(sampleReportModel({ accounts: 100, events: 1000, seed: 2 }), key));
    const c = renderOscal(signModel(sampleReportModel({ accounts: 100, events: 1000, seed: 4 }), key));
    expect(a).toBe(b);
    const uuidOf = (text: string) => (JSON.parse(text) as { 'assessment-results': { uuid: string } })['assessment-results'].uuid;
    expect(uuidOf(a)).not.toBe(uuidOf(c));
    expect(uuidOf(a)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
