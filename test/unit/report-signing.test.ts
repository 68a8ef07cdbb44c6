import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { canonicalReportJson } from '../../src/reports/canonical-json.js';
import {
  contentSha256,
  keyIdOf,
  loadSigningKey,
  loadTrustedPublicKeys,
  signingKeyFromPem,
  signModel,
  verifySignedModel,
} from '../../src/reports/signing.js';
import { sampleReportModel } from '../support/sample-model.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'report-signing-'));

describe('canonical JSON', () => {
  it('sorts keys at every depth, drops whitespace and undefined members', () => {
    expect(canonicalReportJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('writes numbers in one stable form and refuses what JSON cannot hold', () => {
    expect(canonicalReportJson([1.5, 1e21, 0.1 + 0.2, -0, 100])).toBe('[1.5,1e+21,0.30000000000000004,0,100]');
    expect(() => canonicalReportJson({ a: Number.NaN })).toThrow(/\$\.a is not a finite number/);
    expect(() => canonicalReportJson({ a: new Date(0) })).toThrow(/Date/);
    expect(() => canonicalReportJson([undefined])).toThrow(/undefined/);
  });

  it('escapes strings as JSON does and orders keys by code unit', () => {
    expect(canonicalReportJson({ é: 1, Z: 2, a: '"\n\u2028' })).toBe('{"Z":2,"a":"\\"\\n\u2028","é":1}');
  });
});

describe('signing', () => {
  const model = sampleReportModel({ accounts: 50, events: 1000, seed: 3 });

  it('makes the key on first use with mode 0600, beside its public key, and reuses it', () => {
    const dataDir = tempDir();
    const key = loadSigningKey({ dataDir });
    const file = path.join(dataDir, 'keys', 'report-signing.pem');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dataDir, 'keys', 'report-signing.pub.pem')).isFile()).toBe(true);
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(key.publicKey)).toBe(key.keyId);
    expect(loadSigningKey({ dataDir }).keyId).toBe(key.keyId);
    expect(loadTrustedPublicKeys(dataDir).map(keyIdOf)).toEqual([key.keyId]);
  });

  it('uses a supplied key file and rejects one that is not Ed25519', () => {
    const dir = tempDir();
    const { privateKey } = generateKeyPairSync('ed25519');
    const file = path.join(dir, 'mine.pem');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(loadSigningKey({ dataDir: dir, signingKeyPath: file }).keyId).toBe(
      signingKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' })).keyId,
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    writeFileSync(file, rsa.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadSigningKey({ dataDir: dir, signingKeyPath: file })).toThrow(/is rsa, expected Ed25519/);
    writeFileSync(file, 'not a key');
    expect(() => loadSigningKey({ dataDir: dir, signingKeyPath: file })).toThrow(/is not a PEM private key/);
  });

  it('gives the same hash for the same model and a different one for any change', () => {
    const again = sampleReportModel({ accounts: 50, events: 1000, seed: 3 });
    expect(contentSha256(again)).toBe(contentSha256(model));
    expect(contentSha256({ ...model, asOf: '2026-06-30T00:00:00.000Z' })).not.toBe(contentSha256(model));
    const key = loadSigningKey({ dataDir: tempDir() });
    expect(contentSha256(signModel(model, key))).toBe(contentSha256(model));
  });

  it('verifies a signed model and names what is wrong with a tampered one', () => {
    const key = loadSigningKey({ dataDir: tempDir() });
    const signed = signModel(model, key);
    const json = canonicalReportJson(signed);
    expect(verifySignedModel(json, key.publicKey)).toMatchObject({ ok: true, reasons: [], keyId: key.keyId });

    const content = json.replace('"provisional":false', '"provisional":true ');
    const changed = verifySignedModel(content, key.publicKey);
    expect(changed.ok).toBe(false);
    expect(changed.reasons).toHaveLength(1);
    expect(changed.reasons[0]).toMatch(/^content hash mismatch/);

    const value = signed.integrity!.signature.value;
    const flipped = `${value[0] === 'A' ? 'B' : 'A'}${value.slice(1)}`;
    const badSignature = verifySignedModel(json.replace(value, flipped), key.publicKey);
    expect(badSignature.reasons).toEqual([expect.stringMatching(/^bad signature/)]);

    const forgedHash = { ...signed, integrity: { ...signed.integrity!, contentSha256: '0'.repeat(64) } };
    expect(verifySignedModel(forgedHash, key.publicKey).reasons).toEqual([
      expect.stringMatching(/^content hash mismatch/),
      expect.stringMatching(/^bad signature/),
    ]);

    const other = loadSigningKey({ dataDir: tempDir() });
    expect(verifySignedModel(json, other.publicKey).reasons).toEqual([`unknown key: no trusted public key has id ${key.keyId}`]);
    expect(verifySignedModel(json).reasons).toEqual([expect.stringMatching(/^unknown key/)]);
    expect(verifySignedModel('{"schemaVersion":', key.publicKey).reasons[0]).toMatch(/^not valid JSON/);
    expect(verifySignedModel(canonicalReportJson(model), key.publicKey).reasons).toEqual([
      'not signed: the report has no integrity section',
    ]);
  });
});
