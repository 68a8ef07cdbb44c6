// A PDF is a function of the report's content, not of the order its keys were written in:
// the model read back from the store (Postgres jsonb orders keys by length, then bytes)
// must render the same bytes as the model built in memory, or a PDF downloaded from the
// API would not verify against the signed manifest.
import { createHash } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import type { ReportModel } from '../../src/reports/model.js';
import { renderPdf } from '../../src/reports/render/pdf/index.js';
import { signingKeyFromPem, signModel } from '../../src/reports/signing.js';
import { sampleReportModel } from '../support/sample-model.js';

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  return value;
}

async function pdfSha256(model: ReportModel): Promise<string> {
  const hash = createHash('sha256');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
  await renderPdf(model, sink);
  return hash.digest('hex');
}

describe('PDF rendering', () => {
  it('gives the same bytes whatever the order of the model keys', { timeout: 120_000 }, async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = signingKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const model = signModel(sampleReportModel({ accounts: 40, events: 400, seed: 7 }), key);
    const reordered = reverseKeys(model) as ReportModel;
    expect(Object.keys(reordered)[0]).not.toBe(Object.keys(model)[0]);
    expect(await pdfSha256(reordered)).toBe(await pdfSha256(model));
  });
});
