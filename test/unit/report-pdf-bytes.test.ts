// The PDF renderer was split from one file into src/reports/render/pdf/ (layout
// primitives, one file per section, the two-pass driver). The split must not change a
// single byte: this renders the sample model, signed with a fixed key, and compares the
// SHA-256 with the one the single-file renderer produced for the same model (computed
// on that code before the split, commit f17f488). A change to the PDF's look is a
// deliberate act: re-derive the hash and say why in the commit.
import { createHash, createPrivateKey } from 'node:crypto';
import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { renderPdf } from '../../src/reports/render/pdf/index.js';
import { signingKeyFromPem, signModel } from '../../src/reports/signing.js';
import { sampleReportModel } from '../support/sample-model.js';

// An Ed25519 key from a fixed seed (PKCS#8 DER prefix + 32 seed bytes), so the signature,
// and with it the PDF's footer and keywords, is the same on every run.
const FIXED_KEY_DER = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]);
const FIXED_KEY_PEM = createPrivateKey({ key: FIXED_KEY_DER, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });

const CASES = [
  {
    name: 'SOC 2, 60 accounts, a coverage gap',
    options: { accounts: 60, events: 600, seed: 11 },
    expected: { sha256: '44729d186f2f65f992d9c3e961e67909973aaf9fbcb78e329ca8358bb7b09804', pages: 17 },
  },
  {
    name: 'ISO 27001, 25 accounts, no gap',
    options: { accounts: 25, events: 300, seed: 3, framework: 'iso27001', withGap: false },
    expected: { sha256: 'df7eeff9babb1a30c9f5401119e269aff6e0d9aaa7069ac6bbaeab4d39f87dd2', pages: 19 },
  },
] as const;

describe('PDF bytes', () => {
  it.each(CASES)('are the ones the single-file renderer gave: $name', { timeout: 120_000 }, async ({ options, expected }) => {
    const model = signModel(sampleReportModel(options), signingKeyFromPem(FIXED_KEY_PEM));
    const hash = createHash('sha256');
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        bytes += chunk.length;
        callback();
      },
    });
    const { pages } = await renderPdf(model, sink);
    expect(bytes).toBeGreaterThan(1000);
    expect({ sha256: hash.digest('hex'), pages }).toEqual(expected);
  });
});
