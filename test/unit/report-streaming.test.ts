// Reports of 100,000 accounts (issue 13): the canonical JSON is written in pieces (never
// one string), a population can live on disk (RowSpool) and be read back in pages, and
// the PDF reaches its output page by page. None of it may change a byte: the pieces join
// to the canonical form, and a model whose populations are spooled gives the same
// content hash and the same files as the same model in memory.
import { createHash, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import PDFDocument from 'pdfkit';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { canonicalReportJson, writeCanonicalJson } from '../../src/reports/canonical-json.js';
import { renderPdf } from '../../src/reports/render/pdf/index.js';
import { RowSpool } from '../../src/reports/row-spool.js';
import { canonicalSha256, contentSha256, signingKeyFromPem, signModel } from '../../src/reports/signing.js';
import { writeReportArtefacts } from '../../src/reports/write.js';
import { closeSampleSpools, sampleReportModel } from '../support/sample-model.js';

const FIXED_KEY_DER = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]);
const key = signingKeyFromPem(
  createPrivateKey({ key: FIXED_KEY_DER, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }),
);

/** An independent canonical form for values without -0, NaN or undefined items: JSON.stringify with sorted keys. */
const sortedJson = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );

const spoolFiles = () => readdirSync(tmpdir()).filter((name) => name.startsWith(`accesstrail-rows-${process.pid}-`));

describe('canonical JSON in pieces', () => {
  const model = sampleReportModel({ accounts: 2_000, events: 20_000, seed: 5 });

  it('joins to the canonical text, in pieces of about 64 K characters, and hashes the same', () => {
    const pieces: string[] = [];
    writeCanonicalJson(model, (piece) => pieces.push(piece));
    const whole = sortedJson(model);
    expect(whole.length).toBeGreaterThan(500_000);
    expect(pieces.join('')).toBe(whole);
    expect(pieces.length).toBeGreaterThan(whole.length / 70_000);
    expect(Math.max(...pieces.map((piece) => piece.length))).toBeLessThan(66_000);
    // Names such as Björn and Zoë are several UTF-8 bytes: hashing piece by piece must not split them.
    expect(whole).toMatch(/[^\u0000-\u007f]/);
    expect(canonicalSha256(model)).toBe(createHash('sha256').update(whole, 'utf8').digest('hex'));
    expect(canonicalReportJson(model)).toBe(whole);
  });

  it('still names the place of a value JSON cannot hold', () => {
    expect(() => canonicalReportJson({ a: [{ b: 1 }, { b: Number.POSITIVE_INFINITY }] })).toThrow('$.a[1].b is not a finite number');
    expect(() => canonicalReportJson({ a: { b: () => 1 } })).toThrow('$.a.b has type function');
  });
});

describe('a population on disk', () => {
  afterEach(() => expect(spoolFiles()).toEqual([]));

  it('gives back its rows in order, as often as asked, and writes as the array it stands for', () => {
    const rows = Array.from({ length: 5_000 }, (_, index) => ({
      id: `${index}`,
      name: index % 7 === 0 ? 'Zoë "Z" Åström\n' : null,
      n: index,
    }));
    const spool = RowSpool.of(rows);
    try {
      expect(spool.length).toBe(5_000);
      expect([spool.at(0), spool.at(4_321), spool.at(-1), spool.at(5_000)]).toEqual([rows[0], rows[4_321], rows[4_999], undefined]);
      expect([...spool]).toEqual(rows);
      expect([...spool]).toEqual(rows);
      expect(canonicalReportJson({ rows: spool })).toBe(canonicalReportJson({ rows }));
      expect(JSON.parse(JSON.stringify({ rows: spool }))).toEqual({ rows });
      // Unlinked while open: nothing is left in the temporary folder even before close.
      expect(spoolFiles()).toEqual([]);
    } finally {
      spool.close();
    }
    expect(() => [...spool]).toThrow('row spool is closed');
    expect(() => spool.push({ id: 'x', name: null, n: 0 })).toThrow('row spool is closed');
  });

  it('gives a model whose populations are spooled the same content hash and the same files', async () => {
    const options = { accounts: 3_000, events: 30_000, seed: 9 };
    const inMemory = sampleReportModel(options);
    const spooled = sampleReportModel({ ...options, spool: true });
    try {
      expect(spooled.populations.humanAccounts).toBeInstanceOf(RowSpool);
      expect(spooled.findings).toBeInstanceOf(RowSpool);
      expect(contentSha256(spooled)).toBe(contentSha256(inMemory));
      const written = async (model: typeof inMemory) => {
        const dir = mkdtempSync(path.join(tmpdir(), 'report-streaming-'));
        try {
          const result = await writeReportArtefacts({
            model,
            formats: ['json', 'pdf', 'csv', 'oscal'],
            outDir: dir,
            dataDir: dir,
            signingKey: key,
          });
          return {
            hash: result.model.integrity!.contentSha256,
            files: result.files.map((file) => [path.basename(file.path), file.sha256]),
          };
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      };
      const fromMemory = await written(inMemory);
      expect(fromMemory.files).toHaveLength(10);
      expect(await written(spooled)).toEqual(fromMemory);
    } finally {
      closeSampleSpools(spooled);
    }
  });
});

describe('the PDF on its way out', () => {
  it('reaches the output while its pages are still being drawn, not all at the end', async () => {
    const model = signModel(sampleReportModel({ accounts: 3_000, events: 3_000, seed: 2 }), key);
    let pagesAdded = 0;
    const original = PDFDocument.prototype.addPage;
    const addPage = vi.spyOn(PDFDocument.prototype, 'addPage').mockImplementation(function (this: PDFKit.PDFDocument, ...args) {
      pagesAdded += 1;
      return original.apply(this, args);
    });
    const pagesAtWrite: number[] = [];
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(_chunk, _encoding, callback) {
        pagesAtWrite.push(pagesAdded);
        setImmediate(callback);
      },
    });
    try {
      const { pages } = await renderPdf(model, sink);
      // The measuring pass adds `pages` pages into a sink of its own; the real pass adds them again.
      expect(pagesAdded).toBe(2 * pages);
      expect(pages).toBeGreaterThan(90);
      // The first bytes reached the output before a tenth of the real pass was drawn.
      expect(pagesAtWrite[0]).toBeLessThan(pages + pages / 10);
    } finally {
      addPage.mockRestore();
    }
  });
});
