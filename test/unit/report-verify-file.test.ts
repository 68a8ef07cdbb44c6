// `accesstrail verify` on a report JSON (src/reports/verify-files.ts): the document is
// parsed once, its content hash and signature checked, and its bytes compared piece by
// piece with the canonical form (the content hash covers the content, not the bytes
// around it, so a file re-serialised with the same content must still be refused).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { canonicalReportJson } from '../../src/reports/canonical-json.js';
import { loadSigningKey, loadTrustedPublicKeys, signModel } from '../../src/reports/signing.js';
import { verifyReportFile } from '../../src/reports/verify-files.js';
import { writeReportArtefacts } from '../../src/reports/write.js';
import { sampleReportModel } from '../support/sample-model.js';

describe('verify of a report JSON', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'accesstrail-verify-'));
  let canonical: string;
  const check = async (name: string, text: string) => {
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, text);
    return verifyReportFile(file, loadTrustedPublicKeys(dir));
  };
  beforeAll(() => {
    // Large enough that the canonical writer hands over more than one piece (64 K characters).
    const model = signModel(sampleReportModel({ accounts: 400, events: 4000, seed: 5 }), loadSigningKey({ dataDir: dir }));
    canonical = canonicalReportJson(model);
    expect(canonical.length).toBeGreaterThan(3 * 65_536);
  });

  it('accepts the file as written', async () => {
    expect(await check('as-written', canonical)).toMatchObject({ ok: true, reasons: [] });
  });

  it.each([
    ['pretty-printed', (text: string) => JSON.stringify(JSON.parse(text), null, 2)],
    ['keys in another order', (text: string) => JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text) as object).reverse()))],
    ['a newline at the end', (text: string) => `${text}\n`],
    ['an escape where none is needed', (text: string) => text.replace('"schemaVersion"', '"schema\\u0056ersion"')],
    ['cut short after the content', (text: string) => text.slice(0, -1)],
  ])('refuses the same content re-serialised (%s) as not canonical', async (name, change) => {
    const text = change(canonical);
    expect(text).not.toBe(canonical);
    const result = await check(name.replace(/\W+/g, '-'), text);
    expect(result.ok).toBe(false);
    // Cut short, it is no longer JSON; otherwise the content and signature still check.
    expect(result.reasons).toEqual([
      name === 'cut short after the content'
        ? expect.stringContaining('not valid JSON')
        : 'not in canonical form: bytes outside the content were changed',
    ]);
  });

  it('accepts a manifest as written and refuses it re-serialised', async () => {
    const out = path.join(dir, 'artefacts');
    const written = await writeReportArtefacts({
      model: sampleReportModel({ accounts: 20, events: 200, seed: 9 }),
      formats: ['json', 'csv'],
      outDir: out,
      dataDir: dir,
    });
    const keys = loadTrustedPublicKeys(dir);
    expect(await verifyReportFile(written.manifest.path, keys)).toMatchObject({ ok: true, reasons: [] });
    writeFileSync(written.manifest.path, JSON.stringify(JSON.parse(readFileSync(written.manifest.path, 'utf8')), null, 2));
    const result = await verifyReportFile(written.manifest.path, keys);
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual(['manifest is not in canonical form: its bytes were changed']);
  });

  it('names a changed content byte as a content hash mismatch', async () => {
    const at = canonical.indexOf('"humanAccounts"');
    const changed = canonical.slice(0, at) + canonical.slice(at).replace(/"(\d{4})-/, (_, year: string) => `"${Number(year) - 1}-`);
    const result = await check('changed', changed);
    expect(result.ok).toBe(false);
    expect(result.reasons.join('; ')).toContain('content hash mismatch');
  });
});
