import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { ReportModel } from '../../src/reports/model.js';
import { subjectLabel } from '../../src/reports/render/oscal.js';
import { loadSigningKey } from '../../src/reports/signing.js';
import { verifyReportFiles } from '../../src/reports/verify-files.js';
import { writeReportArtefacts, type WriteReportResult } from '../../src/reports/write.js';
import { sampleReportModel } from '../support/sample-model.js';

const hasTool = (tool: string) => spawnSync(tool, ['-v']).error === undefined;
const temp = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));

function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
  writeFileSync(file, bytes);
}

/** Share of pixels darker than near-white in a binary PGM (P5) written by pdftoppm -gray. */
function inkShare(pgm: Buffer): number {
  const header = pgm.subarray(0, 64).toString('latin1');
  const match = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(header);
  if (!match) throw new Error('not a binary PGM');
  const pixels = pgm.subarray(match[0].length);
  let ink = 0;
  for (const value of pixels) if (value < 200) ink += 1;
  return ink / pixels.length;
}

describe('report artefacts', () => {
  let dataDir: string;
  let model: ReportModel;
  let first: WriteReportResult;
  let outDir: string;
  const lines: string[] = [];
  const print = (line: string) => lines.push(line);

  beforeAll(async () => {
    dataDir = temp('report-data-');
    outDir = temp('report-out-');
    model = sampleReportModel({ accounts: 400, events: 40_000, seed: 21, framework: 'soc2', withGap: true });
    first = await writeReportArtefacts({ model, formats: ['json', 'pdf', 'csv', 'oscal'], outDir, dataDir });
  });

  it('writes every format under <framework>-<period>-<shortHash> with a manifest', () => {
    const base = `soc2-2026-Q2-${first.model.integrity!.contentSha256.slice(0, 12)}`;
    expect(first.files.map((file) => path.basename(file.path))).toEqual([
      `${base}.json`,
      `${base}.pdf`,
      ...['human-accounts', 'terminated-people', 'privileged', 'privilege-changes', 'non-human', 'credentials', 'findings'].map(
        (name) => `${base}-${name}.csv`,
      ),
      `${base}.oscal.json`,
    ]);
    for (const file of first.files) expect(statSync(file.path).size).toBe(file.bytes);
    expect(path.basename(first.manifest.path)).toBe(`${base}.manifest.json`);
    expect(readdirSync(outDir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('gives the same hash and the same bytes for the same model', async () => {
    const again = await writeReportArtefacts({
      model: sampleReportModel({ accounts: 400, events: 40_000, seed: 21, framework: 'soc2', withGap: true }),
      formats: ['json', 'pdf', 'csv', 'oscal'],
      outDir: temp('report-out-'),
      dataDir,
    });
    expect(again.model.integrity?.contentSha256).toBe(first.model.integrity?.contentSha256);
    expect(again.files.map((file) => [path.basename(file.path), file.sha256])).toEqual(
      first.files.map((file) => [path.basename(file.path), file.sha256]),
    );
  });

  it('verifies every file intact, then fails on one changed byte with the reason', async () => {
    const files = [...first.files.map((file) => file.path), first.manifest.path];
    const results = await verifyReportFiles(files, { dataDir, print });
    expect(results.every((result) => result.ok)).toBe(true);
    expect(lines.filter((line) => line.includes(': intact ('))).toHaveLength(files.length);

    const copy = temp('report-tamper-');
    const again = await writeReportArtefacts({ model, formats: ['json', 'pdf', 'csv'], outDir: copy, dataDir });
    const json = again.files.find((file) => file.format === 'json')!.path;
    const text = readFileSync(json, 'utf8');
    // One digit of a record count: still valid JSON, different content.
    const at = text.indexOf('"records":') + 10;
    writeFileSync(json, `${text.slice(0, at)}${text[at] === '9' ? '8' : '9'}${text.slice(at + 1)}`);
    await expect(verifyReportFiles([json], { dataDir, print })).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    expect(lines.at(-1)).toMatch(/NOT INTACT: content hash mismatch/);

    const pdf = again.files.find((file) => file.format === 'pdf')!.path;
    flipByte(pdf, Math.floor(statSync(pdf).size / 2));
    await expect(verifyReportFiles([pdf], { dataDir, print })).rejects.toThrow(/1 of 1 report file/);
    expect(lines.at(-1)).toMatch(/NOT INTACT: file hash mismatch/);

    const csv = again.files.find((file) => file.format === 'csv')!.path;
    writeFileSync(csv, readFileSync(csv, 'utf8').replace('\r\n', '\r\n=cmd|calc,\r\n'));
    await expect(verifyReportFiles([csv], { dataDir, print })).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    expect(lines.at(-1)).toMatch(/file hash mismatch/);

    // A verifier that does not trust the signing key says so.
    await expect(verifyReportFiles([first.files[0]!.path], { dataDir: temp('report-stranger-'), print })).rejects.toThrow(/keys\/trusted/);
    expect(lines.at(-1)).toMatch(/unknown key/);
    const trusted = loadSigningKey({ dataDir }).publicKey;
    await expect(verifyReportFiles([first.files[0]!.path], { publicKeys: [trusted], print })).resolves.toHaveLength(1);
  });

  it('puts the period, each control status and each finding subject in the PDF text', () => {
    if (!hasTool('pdftotext')) {
      console.warn('pdftotext is not installed: PDF text check skipped');
      return;
    }
    const pdf = first.files.find((file) => file.format === 'pdf')!.path;
    const text = execFileSync('pdftotext', [pdf, '-'], { maxBuffer: 64 * 1024 * 1024 }).toString('utf8');
    const compact = text.replace(/\s+/g, '');
    expect(text).toContain('2026-04-01 00:00:00 UTC to 2026-07-01 00:00:00 UTC');
    expect(text).toContain(first.model.integrity!.contentSha256);
    expect(text).toContain(`key id ${first.model.integrity!.signature.keyId}`);
    const statusWord = {
      effective: 'EFFECTIVE',
      exceptions: 'EXCEPTIONS',
      incomplete: 'INCOMPLETE',
      'not-evaluable': 'NOTEVALUABLE',
    } as const;
    for (const control of first.model.controls) {
      expect(compact).toContain(`${control.id}${control.title}`.replace(/\s+/g, ''));
      expect(compact).toMatch(new RegExp(`${control.id.replace('.', '\\.')}.{0,200}${statusWord[control.status]}`));
    }
    expect(first.model.findings.length).toBeGreaterThan(10);
    for (const finding of first.model.findings) expect(compact, finding.id).toContain(subjectLabel(finding).replace(/\s+/g, ''));
    expect(text).toMatch(/Page 1 of \d+/);
    expect(text).toContain('Appendix E. How to verify this report');
  });

  it('renders every PDF page to a non-blank image', () => {
    if (!hasTool('pdftoppm')) {
      console.warn('pdftoppm is not installed (poppler-utils): PDF page rendering check skipped');
      return;
    }
    const pdf = first.files.find((file) => file.format === 'pdf')!.path;
    const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [pdf]).toString())?.[1]);
    expect(pages).toBeGreaterThan(10);
    const dir = temp('report-png-');
    execFileSync('pdftoppm', ['-r', '30', '-gray', pdf, path.join(dir, 'page')]);
    const images = readdirSync(dir).sort();
    expect(images).toHaveLength(pages);
    for (const image of images) {
      const share = inkShare(readFileSync(path.join(dir, image)));
      expect(share, image).toBeGreaterThan(0.002);
    }
    execFileSync('pdftoppm', ['-r', '40', '-png', '-f', '1', '-l', '1', pdf, path.join(dir, 'cover')]);
    expect(
      statSync(
        path.join(
          dir,
          readdirSync(dir).find((name) => name.startsWith('cover'))!,
        ),
      ).size,
    ).toBeGreaterThan(5_000);
  });
});
