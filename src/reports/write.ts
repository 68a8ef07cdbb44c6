// Signs a report model and writes its artefacts, named <framework>-<period>-<shortHash>.
// Besides the files, a manifest (<base>.manifest.json) lists each file's SHA-256 and
// size, bound to the content hash and signed with the report key, so `accesstrail
// verify` can check a PDF, a CSV or an OSCAL file on its own: those formats cannot
// carry the model's signature themselves.
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, openSync, writeSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { canonicalReportJson, type JsonSink, writeCanonicalJson } from './canonical-json.js';
import type { ReportModel } from './model.js';
import { csvTables, writeCsv } from './render/csv.js';
import { reportBaseName } from './render/naming.js';
import { oscalDocument } from './render/oscal.js';
import { renderPdf } from './render/pdf/index.js';
import { loadSigningKey, sha256Hex, signHash, type SigningKey, signModel } from './signing.js';

export type ReportFormat = 'json' | 'pdf' | 'csv' | 'oscal';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'pdf', 'csv', 'oscal'];

export interface WrittenFile {
  format: ReportFormat;
  path: string;
  sha256: string;
  bytes: number;
}

export interface ReportManifest {
  kind: 'accesstrail-report-manifest';
  manifestVersion: '1';
  framework: string;
  period: { from: string; to: string };
  contentSha256: string;
  files: { name: string; format: ReportFormat; sha256: string; bytes: number }[];
  signature: { alg: 'Ed25519'; keyId: string; value: string };
}

export const MANIFEST_SUFFIX = '.manifest.json';

/** The hash a manifest's signature covers: the canonical manifest without `signature`. */
export function manifestSha256(manifest: Omit<ReportManifest, 'signature'> & { signature?: unknown }): string {
  const { signature: _signature, ...rest } = manifest;
  return sha256Hex(canonicalReportJson(rest));
}

async function writeAtomically(file: string, content: string | Buffer): Promise<void> {
  const partial = `${file}.partial`;
  await writeFile(partial, content);
  await rename(partial, file);
}

const PIECE_CHARS = 1 << 16;

/**
 * Writes a text file from the pieces `write` gives its sink, atomically, hashing and
 * counting its UTF-8 bytes on the way: a report's JSON or CSV of 100,000 accounts is
 * never one string in memory. Pieces are gathered to ~64 K characters per write.
 */
async function writeInPieces(file: string, format: ReportFormat, write: (sink: JsonSink) => void): Promise<WrittenFile> {
  const partial = `${file}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  let pending = '';
  const fd = openSync(partial, 'w');
  const flush = () => {
    const buffer = Buffer.from(pending, 'utf8');
    pending = '';
    hash.update(buffer);
    bytes += buffer.length;
    writeSync(fd, buffer);
  };
  try {
    write((piece) => {
      pending += piece;
      if (pending.length >= PIECE_CHARS) flush();
    });
    flush();
  } catch (error) {
    closeSync(fd);
    await rm(partial, { force: true });
    throw error;
  }
  closeSync(fd);
  await rename(partial, file);
  return { format, path: file, sha256: hash.digest('hex'), bytes };
}

async function writePdf(file: string, model: ReportModel): Promise<WrittenFile> {
  const partial = `${file}.partial`;
  const hash = createHash('sha256');
  let bytes = 0;
  // Hash and count on the way to the file: the PDF is never held in memory whole.
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const output = createWriteStream(partial);
  const written = pipeline(tap, output);
  try {
    await renderPdf(model, tap);
    await written;
  } catch (error) {
    tap.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, file);
  return { format: 'pdf', path: file, sha256: hash.digest('hex'), bytes };
}

export interface WriteReportOptions {
  /** The unsigned model (an `integrity` member, if any, is replaced). */
  model: ReportModel;
  formats: readonly ReportFormat[];
  outDir: string;
  dataDir: string;
  signingKeyPath?: string;
  /** A key already loaded (tests, the API); takes precedence over the paths. */
  signingKey?: SigningKey;
}

export interface WriteReportResult {
  model: ReportModel;
  files: WrittenFile[];
  manifest: { path: string; sha256: string; bytes: number };
}

export async function writeReportArtefacts(options: WriteReportOptions): Promise<WriteReportResult> {
  const key = options.signingKey ?? loadSigningKey({ dataDir: options.dataDir, signingKeyPath: options.signingKeyPath });
  const model = signModel(options.model, key);
  const integrity = model.integrity!;
  const base = reportBaseName(model);
  await mkdir(options.outDir, { recursive: true });
  const target = (name: string) => path.join(options.outDir, name);
  const wanted = new Set(options.formats);

  const files: WrittenFile[] = [];
  for (const format of REPORT_FORMATS) {
    if (!wanted.has(format)) continue;
    // The JSON rendering is the canonical form itself (render/json.ts), written as it is serialised.
    if (format === 'json') files.push(await writeInPieces(target(`${base}.json`), 'json', (sink) => writeCanonicalJson(model, sink)));
    if (format === 'pdf') files.push(await writePdf(target(`${base}.pdf`), model));
    if (format === 'csv') {
      for (const csv of csvTables(model))
        files.push(await writeInPieces(target(`${base}-${csv.name}`), 'csv', (sink) => writeCsv(csv.header, csv.rows, sink)));
    }
    if (format === 'oscal')
      files.push(await writeInPieces(target(`${base}.oscal.json`), 'oscal', (sink) => writeCanonicalJson(oscalDocument(model), sink)));
  }

  const unsigned: Omit<ReportManifest, 'signature'> = {
    kind: 'accesstrail-report-manifest',
    manifestVersion: '1',
    framework: model.framework,
    period: model.period,
    contentSha256: integrity.contentSha256,
    files: files.map((file) => ({ name: path.basename(file.path), format: file.format, sha256: file.sha256, bytes: file.bytes })),
  };
  const manifest: ReportManifest = {
    ...unsigned,
    signature: { alg: 'Ed25519', keyId: key.keyId, value: signHash(manifestSha256(unsigned), key) },
  };
  const manifestText = canonicalReportJson(manifest);
  const manifestPath = target(`${base}${MANIFEST_SUFFIX}`);
  await writeAtomically(manifestPath, manifestText);
  return { model, files, manifest: { path: manifestPath, sha256: sha256Hex(manifestText), bytes: Buffer.byteLength(manifestText) } };
}
