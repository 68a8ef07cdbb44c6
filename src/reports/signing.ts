// Integrity of reports. The content hash is the SHA-256 of the canonical JSON of the
// model without `integrity`; the Ed25519 signature covers the UTF-8 bytes of that hash
// in lower-case hex (so it can be checked with stock tools: `openssl pkeyutl -verify
// -rawin`). The key id is the first 16 hex characters of the SHA-256 of the public key
// in DER (SPKI), printed on the PDF cover so an auditor can match it to the key the
// organisation published.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { AppError } from '../errors.js';
import { writeCanonicalJson } from './canonical-json.js';
import type { ReportModel } from './model.js';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

export const SIGNING_KEY_FILE = 'report-signing.pem';
export const PUBLIC_KEY_FILE = 'report-signing.pub.pem';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the canonical JSON of `value`, hashed piece by piece as it is written
 *  (the same digest as hashing the whole text, without ever holding it). */
export function canonicalSha256(value: unknown): string {
  const hash = createHash('sha256');
  writeCanonicalJson(value, (piece) => hash.update(piece, 'utf8'));
  return hash.digest('hex');
}

export function keyIdOf(publicKey: KeyObject): string {
  return sha256Hex(publicKey.export({ type: 'spki', format: 'der' })).slice(0, 16);
}

function ed25519(key: KeyObject, file: string): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AppError('CONFIG_INVALID', `signing key ${file} is ${key.asymmetricKeyType ?? 'not an asymmetric key'}, expected Ed25519`);
  }
}

export function signingKeyFromPem(pem: string | Buffer, file = 'signing key'): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    // The message of a failed parse can quote key material; name the file only.
    throw new AppError('CONFIG_INVALID', `signing key ${file} is not a PEM private key`);
  }
  ed25519(privateKey, file);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/**
 * The report signing key: the file at `signingKeyPath` when given, otherwise
 * `<dataDir>/keys/report-signing.pem`, made on first use (mode 0600) with its public
 * key beside it.
 */
export function loadSigningKey(options: { dataDir: string; signingKeyPath?: string }): SigningKey {
  if (options.signingKeyPath) {
    if (!existsSync(options.signingKeyPath)) throw new AppError('CONFIG_INVALID', `signing key ${options.signingKeyPath} does not exist`);
    return signingKeyFromPem(readFileSync(options.signingKeyPath), options.signingKeyPath);
  }
  const dir = path.join(options.dataDir, 'keys');
  const file = path.join(dir, SIGNING_KEY_FILE);
  if (existsSync(file)) return signingKeyFromPem(readFileSync(file), file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // flag 'wx': never overwrite a key another process made a moment ago.
  try {
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return signingKeyFromPem(readFileSync(file), file);
    throw error;
  }
  chmodSync(file, 0o600);
  writeFileSync(path.join(dir, PUBLIC_KEY_FILE), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export function publicKeyFrom(input: KeyObject | string | Buffer): KeyObject {
  if (typeof input === 'object' && 'asymmetricKeyType' in input) {
    return input.type === 'private' ? createPublicKey(input) : input;
  }
  const key = createPublicKey(input);
  ed25519(key, 'public key');
  return key;
}

/**
 * Public keys a verifier trusts: the data folder's own key and every PEM under
 * `<dataDir>/keys/trusted/` (where an auditor puts the key an organisation published).
 */
export function loadTrustedPublicKeys(dataDir: string): KeyObject[] {
  const keys: KeyObject[] = [];
  const dir = path.join(dataDir, 'keys');
  const own = path.join(dir, PUBLIC_KEY_FILE);
  if (existsSync(own)) keys.push(publicKeyFrom(readFileSync(own)));
  else if (existsSync(path.join(dir, SIGNING_KEY_FILE)))
    keys.push(signingKeyFromPem(readFileSync(path.join(dir, SIGNING_KEY_FILE))).publicKey);
  const trusted = path.join(dir, 'trusted');
  if (existsSync(trusted)) {
    for (const name of readdirSync(trusted).sort()) {
      if (name.endsWith('.pem')) keys.push(publicKeyFrom(readFileSync(path.join(trusted, name))));
    }
  }
  return keys;
}

/** SHA-256 of the canonical model without `integrity` and without `generatedAt`: the
 *  same stored evidence and parameters give the same hash whenever the report is
 *  regenerated (controls.md). The signature binds the generation instant to it. */
export function contentSha256(model: ReportModel): string {
  const { integrity: _integrity, generatedAt: _generatedAt, ...content } = model;
  return canonicalSha256(content);
}

/** What the signature covers: the content hash and the generation instant. */
export function signedStatement(hash: string, generatedAt: string): string {
  return `${hash}|${generatedAt}`;
}

export function signHash(hash: string, key: SigningKey): string {
  return sign(null, Buffer.from(hash, 'utf8'), key.privateKey).toString('base64');
}

export function verifyHashSignature(hash: string, signature: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(hash, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function signModel(model: ReportModel, key: SigningKey): ReportModel {
  const hash = contentSha256(model);
  const { integrity: _previous, ...content } = model;
  return {
    ...content,
    integrity: {
      contentSha256: hash,
      signature: { alg: 'Ed25519', keyId: key.keyId, value: signHash(signedStatement(hash, model.generatedAt), key) },
    },
  };
}

export interface VerifyResult {
  ok: boolean;
  reasons: string[];
  contentSha256: string | null;
  keyId: string | null;
}

type PublicKeyInput = KeyObject | string | Buffer;

/**
 * Checks a signed report given as JSON text or a parsed object. The public key(s)
 * decide which keys are trusted; without any, the signature cannot be checked and the
 * result says "unknown key". Reasons distinguish a content hash mismatch (the content
 * changed), a bad signature (hash or signature changed, or signed by another key with
 * the same id) and an unknown key.
 */
export function verifySignedModel(json: string | ReportModel, publicKey?: PublicKeyInput | readonly PublicKeyInput[]): VerifyResult {
  let model: ReportModel;
  if (typeof json === 'string') {
    try {
      model = JSON.parse(json) as ReportModel;
    } catch (error) {
      return { ok: false, reasons: [`not valid JSON: ${(error as Error).message}`], contentSha256: null, keyId: null };
    }
  } else {
    model = json;
  }
  if (typeof model !== 'object' || model === null || Array.isArray(model)) {
    return { ok: false, reasons: ['not a report: the document is not a JSON object'], contentSha256: null, keyId: null };
  }
  const integrity = model.integrity;
  const reasons: string[] = [];
  if (!integrity || typeof integrity.contentSha256 !== 'string' || typeof integrity.signature?.value !== 'string') {
    return { ok: false, reasons: ['not signed: the report has no integrity section'], contentSha256: null, keyId: null };
  }
  if (integrity.signature.alg !== 'Ed25519') reasons.push(`unsupported signature algorithm ${String(integrity.signature.alg)}`);

  let actual: string;
  try {
    actual = contentSha256(model);
  } catch (error) {
    return { ok: false, reasons: [`not a report: ${(error as Error).message}`], contentSha256: null, keyId: integrity.signature.keyId };
  }
  if (actual !== integrity.contentSha256) {
    reasons.push(`content hash mismatch: the content hashes to ${actual}, the report states ${integrity.contentSha256}`);
  }

  const candidates = (publicKey === undefined ? [] : Array.isArray(publicKey) ? publicKey : [publicKey]) as PublicKeyInput[];
  const keys = candidates.map(publicKeyFrom).filter((key) => keyIdOf(key) === integrity.signature.keyId);
  if (keys.length === 0) {
    reasons.push(`unknown key: no trusted public key has id ${integrity.signature.keyId}`);
  } else if (
    !keys.some((key) =>
      verifyHashSignature(signedStatement(integrity.contentSha256, String(model.generatedAt)), integrity.signature.value, key),
    )
  ) {
    reasons.push(
      `bad signature: the signature does not match the stated content hash and generation instant for key ${integrity.signature.keyId}`,
    );
  }
  return { ok: reasons.length === 0, reasons, contentSha256: integrity.contentSha256, keyId: integrity.signature.keyId };
}
