// `accesstrail verify FILE…`: one line per file, intact or the reason, and a failure
// (exit 1) when any file is not intact. A report JSON is checked on its own (canonical
// bytes, content hash, signature); a PDF, CSV or OSCAL file through the signed manifest
// beside it, which binds the file's SHA-256 to the report's content hash. Keys are
// trusted only from the data folder (its own key and keys/trusted/*.pem): a key that
// travels with the report would prove nothing.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { writeCanonicalJson } from './canonical-json.js';
import type { ReportModel } from './model.js';
import { keyIdOf, loadTrustedPublicKeys, verifyHashSignature, verifySignedModel } from './signing.js';
import { MANIFEST_SUFFIX, manifestSha256, type ReportManifest } from './write.js';

export interface FileVerification {
  file: string;
  ok: boolean;
  reasons: string[];
  detail: string;
}

export interface VerifyFilesOptions {
  /** Trusted public keys; default: the data folder's keys. */
  publicKeys?: KeyObject[];
  dataDir?: string;
  print?: (line: string) => void;
}

async function fileSha256(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether `text` is exactly the canonical JSON of `value`, compared piece by piece as
 *  the canonical writer makes them (no second copy of the text is built). */
function isCanonicalText(text: string, value: unknown): boolean {
  let offset = 0;
  let same = true;
  writeCanonicalJson(value, (piece) => {
    if (same && text.startsWith(piece, offset)) offset += piece.length;
    else same = false;
  });
  return same && offset === text.length;
}

function isManifest(value: unknown): value is ReportManifest {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'accesstrail-report-manifest';
}

function checkManifestSignature(manifest: ReportManifest, keys: KeyObject[]): string[] {
  const reasons: string[] = [];
  if (manifest.signature?.alg !== 'Ed25519' || typeof manifest.signature.value !== 'string') return ['manifest is not signed'];
  const candidates = keys.filter((key) => keyIdOf(key) === manifest.signature.keyId);
  if (candidates.length === 0) reasons.push(`unknown key: no trusted public key has id ${manifest.signature.keyId}`);
  else if (!candidates.some((key) => verifyHashSignature(manifestSha256(manifest), manifest.signature.value, key))) {
    reasons.push('bad signature: the manifest was changed or signed by another key');
  }
  return reasons;
}

function findManifest(file: string): { path: string; manifest: ReportManifest } | null {
  const dir = path.dirname(file);
  const name = path.basename(file);
  for (const candidate of readdirSync(dir)
    .filter((entry) => entry.endsWith(MANIFEST_SUFFIX))
    .sort()) {
    const parsed = parseJson(readFileSync(path.join(dir, candidate), 'utf8'));
    if (isManifest(parsed) && Array.isArray(parsed.files) && parsed.files.some((entry) => entry.name === name)) {
      return { path: path.join(dir, candidate), manifest: parsed };
    }
  }
  return null;
}

async function verifyListedFile(
  file: string,
  manifestPath: string,
  manifest: ReportManifest,
  keys: KeyObject[],
): Promise<FileVerification> {
  const reasons = checkManifestSignature(manifest, keys);
  const entry = manifest.files.find((listed) => listed.name === path.basename(file));
  if (!entry) return { file, ok: false, reasons: [...reasons, `not listed in ${path.basename(manifestPath)}`], detail: '' };
  const actual = await fileSha256(file);
  if (actual.sha256 !== entry.sha256) {
    reasons.push(`file hash mismatch: the file hashes to ${actual.sha256}, the manifest states ${entry.sha256}`);
  }
  // When the report JSON sits beside it, it must be the report the manifest names.
  const json = manifest.files.find((listed) => listed.format === 'json');
  if (json && path.basename(file) !== json.name && existsSync(path.join(path.dirname(file), json.name))) {
    const report = verifySignedModel(readFileSync(path.join(path.dirname(file), json.name), 'utf8'), keys);
    if (report.contentSha256 !== manifest.contentSha256)
      reasons.push(`the report JSON beside it has content hash ${report.contentSha256 ?? 'none'}, not ${manifest.contentSha256}`);
    else if (!report.ok) reasons.push(`the report JSON beside it is not intact: ${report.reasons.join('; ')}`);
  }
  return {
    file,
    ok: reasons.length === 0,
    reasons,
    detail: `content sha256 ${manifest.contentSha256}, key ${manifest.signature?.keyId ?? 'none'}, via ${path.basename(manifestPath)}`,
  };
}

export async function verifyReportFile(file: string, keys: KeyObject[]): Promise<FileVerification> {
  if (!existsSync(file)) return { file, ok: false, reasons: ['file not found'], detail: '' };
  if (file.endsWith('.json')) {
    const text = readFileSync(file, 'utf8');
    const parsed = parseJson(text);
    if (isManifest(parsed)) {
      const reasons = checkManifestSignature(parsed, keys);
      if (!isCanonicalText(text, parsed)) reasons.push('manifest is not in canonical form: its bytes were changed');
      for (const entry of parsed.files ?? []) {
        const listed = path.join(path.dirname(file), entry.name);
        if (!existsSync(listed)) continue;
        const result = await verifyListedFile(listed, file, parsed, keys);
        if (!result.ok) reasons.push(`${entry.name}: ${result.reasons.join('; ')}`);
      }
      return {
        file,
        ok: reasons.length === 0,
        reasons,
        detail: `manifest of ${parsed.files?.length ?? 0} files, content sha256 ${parsed.contentSha256}`,
      };
    }
    const isReport = typeof parsed === 'object' && parsed !== null && 'schemaVersion' in parsed && 'integrity' in parsed;
    if (isReport || parsed === undefined) {
      // The document parsed once (the text only when it is not JSON, for the parser's
      // message): a second parse held a second copy of the model, which at 100,000
      // accounts (51 MB of JSON) took verify to ~800 MB (docs/scale.md, "Reports").
      const result = verifySignedModel(isReport ? (parsed as ReportModel) : text, keys);
      const reasons = [...result.reasons];
      if (result.reasons.length === 0 && !isCanonicalText(text, parsed))
        reasons.push('not in canonical form: bytes outside the content were changed');
      return {
        file,
        ok: reasons.length === 0,
        reasons,
        detail: `content sha256 ${result.contentSha256 ?? 'none'}, key ${result.keyId ?? 'none'}`,
      };
    }
  }
  const found = findManifest(file);
  if (!found) return { file, ok: false, reasons: [`no signed manifest (*${MANIFEST_SUFFIX}) beside it lists this file`], detail: '' };
  return verifyListedFile(file, found.path, found.manifest, keys);
}

export async function verifyReportFiles(files: string[], options: VerifyFilesOptions = {}): Promise<FileVerification[]> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dataDir = options.dataDir ?? loadConfig().dataDir;
  const keys = options.publicKeys ?? loadTrustedPublicKeys(dataDir);
  const results: FileVerification[] = [];
  for (const file of files) {
    const result = await verifyReportFile(file, keys);
    results.push(result);
    print(result.ok ? `${file}: intact (${result.detail})` : `${file}: NOT INTACT: ${result.reasons.join('; ')}`);
  }
  const failed = results.filter((result) => !result.ok);
  if (failed.length > 0) {
    const hint = failed.some((result) => result.reasons.some((reason) => reason.startsWith('unknown key')))
      ? ` (to trust a publisher's key, put its report-signing.pub.pem in ${path.join(dataDir, 'keys', 'trusted')}/)`
      : '';
    throw new AppError('VERIFY_FAILED', `${failed.length} of ${results.length} report file(s) failed verification${hint}`, {
      details: { failed: failed.map((result) => result.file) },
    });
  }
  return results;
}
