// The OSCAL file's observations and findings are made as the canonical writer reaches
// them (src/reports/render/oscal.ts) instead of being built as two arrays first. That
// must not change a byte: the hashes below are those the array-building renderer gave
// for the same models and key (checked on that code, before the change, for these and
// for a spooled model of 2,000 accounts). A change to the OSCAL content is a deliberate
// act: re-derive the hashes and say why in the commit.
import { createHash, createPrivateKey } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { renderOscal } from '../../src/reports/render/oscal.js';
import { signingKeyFromPem, signModel } from '../../src/reports/signing.js';
import { sampleReportModel } from '../support/sample-model.js';

// An Ed25519 key from a fixed seed, as in report-pdf-bytes.test.ts.
const FIXED_KEY_DER = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]);
const FIXED_KEY_PEM = createPrivateKey({ key: FIXED_KEY_DER, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });

const CASES = [
  {
    name: 'SOC 2, 60 accounts, a coverage gap',
    options: { accounts: 60, events: 600, seed: 11 },
    sha256: 'd529a052ce3ea11caefef8fedb5085f9a1d0fddc0c8d32140d7f7531c04df062',
  },
  {
    name: 'SOC 2, 500 accounts spooled, no gap',
    options: { accounts: 500, events: 5000, seed: 7, spool: true, withGap: false },
    sha256: '325d2f8a3f3766c1bdd5c363d1b916faa369a0caf8174a558be5a2bff94a9298',
  },
  {
    name: 'ISO 27001, 25 accounts',
    options: { accounts: 25, events: 300, seed: 3, framework: 'iso27001', withGap: false },
    sha256: '1717d8fa6c3568089cc8641c995a6aee5dc63c5e91147bf47eb472b6393eac53',
  },
] as const;

describe('OSCAL bytes', () => {
  it.each(CASES)('are the ones the array-building renderer gave: $name', ({ options, sha256 }) => {
    const model = signModel(sampleReportModel(options), signingKeyFromPem(FIXED_KEY_PEM));
    const text = renderOscal(model);
    const parsed = JSON.parse(text) as { 'assessment-results': { results: { findings: unknown[]; observations: unknown[] }[] } };
    const [result] = parsed['assessment-results'].results;
    expect(result!.findings.length).toBe(model.controls.length + model.findings.length);
    expect(result!.observations.length).toBe(model.controls.length + model.findings.length);
    expect(createHash('sha256').update(text).digest('hex')).toBe(sha256);
  });
});
