// The packed record format (migration 0012, src/store/record-codec.ts): a record comes
// back as the same JSON value with the same record hash, whatever it holds, and the
// dictionaries records were written with never change.
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { decodeEventRow, decodeStoredRow, packRecord, storedRaw, unpackRecord } from '../../src/store/record-codec.js';
import { DICTIONARIES } from '../../src/store/record-dictionaries.js';
import { canonicalRecordJson } from '../../src/store/record-hash.js';
import { eventTables } from '../../src/store/tables.js';

describe('packed records', () => {
  it('keeps every dictionary byte for byte (records written with one must stay readable)', () => {
    const pins: Record<number, string> = {
      1: 'da80618d94c5389e71b673d2b042e557c2a01f782a4a119b3e2e5b57e4097af8',
      2: '3c43ccab09a68687849013157fa3d31e667d42ee123763e9ab7ed97249ca0f7d',
      3: '7ead313352e74a72458ed6595d1ba1487af3fe2efe455f3943340719f630a92e',
      4: '2c5f4e1c5a340b998f7b68dcc25e5fd2d2b9a21eee78ad6c2a6db2f938488184',
      5: '0c8eb1815cf8483ce982869d64c510627fc8ee635df2c07d96afdc7e5f26edc7',
    };
    const actual = Object.fromEntries(
      Object.entries(DICTIONARIES).map(([n, text]) => [n, createHash('sha256').update(text).digest('hex')]),
    );
    expect(actual).toEqual(pins);
    // Every packed table names a dictionary that exists, and its packed columns are its own.
    for (const spec of Object.values(eventTables)) {
      if (!('packed' in spec)) continue;
      expect(DICTIONARIES[spec.packed.format], spec.name).toBeDefined();
      for (const name of spec.packed.columns)
        expect(
          spec.columns.map((c) => c.name),
          spec.name,
        ).toContain(name);
    }
  });

  it('returns any JSON record as the same value, with the same canonical form (hash input)', () => {
    const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    fc.assert(
      fc.property(
        json,
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.string()))),
        (raw, columns) => {
          for (const format of [1, 2, 3, 4, 5]) {
            const unpacked = unpackRecord(packRecord(format, raw, columns));
            expect(canonicalRecordJson(unpacked.raw)).toBe(canonicalRecordJson(raw));
            expect(unpacked.columns).toEqual(columns);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('packs a Graph sign-in to a fraction of its text, and keeps text the COPY format escapes', () => {
    const raw = {
      id: '7f3c0000-1b2c-4d5e-8f90-000000000001',
      createdDateTime: '2026-07-01T08:00:00Z',
      userDisplayName: 'Zoë Ünal\ttab',
      userPrincipalName: 'zoe@contoso.example',
      appDisplayName: 'Metabase\\path\nnew line',
      status: { errorCode: 0, failureReason: null, additionalDetails: null },
      location: { city: '東京', countryOrRegion: 'JP', geoCoordinates: { altitude: null, latitude: 35.68, longitude: 139.69 } },
      riskEventTypes_v2: [],
      when: new Date('2026-07-01T08:00:00Z'),
    };
    const packed = packRecord(1, raw, { is_interactive: true, event_types: ['interactiveUser'], correlation_id: null });
    expect(packed[0]).toBe(1);
    expect(packed.length).toBeLessThan(JSON.stringify(raw).length / 2);
    const { raw: back, columns } = unpackRecord(packed);
    expect(back).toEqual(JSON.parse(JSON.stringify(raw)));
    expect(canonicalRecordJson(back)).toBe(canonicalRecordJson(raw));
    // Nulls are left out; absent reads as null through decodeStoredRow.
    expect(columns).toEqual({ is_interactive: true, event_types: ['interactiveUser'] });
    const row = decodeStoredRow({ upstream_id: raw.id, raw: null, raw_packed: packed, correlation_id: 'tampered' }, [
      'correlation_id',
      'is_interactive',
    ]);
    expect(row).toMatchObject({ raw: back, is_interactive: true, correlation_id: null });
    expect('raw_packed' in row).toBe(false);
  });

  it('reads the forms a bytea arrives in: Buffer (pg), Uint8Array (PGlite), \\x text (to_jsonb of an archived row)', () => {
    const packed = packRecord(2, { id: 7, context: 'ad-hoc' }, { card_id: 3 });
    const forms = [packed, new Uint8Array(packed), `\\x${packed.toString('hex')}`];
    for (const form of forms) expect(unpackRecord(form)).toEqual({ raw: { id: 7, context: 'ad-hoc' }, columns: { card_id: 3 } });
    expect(decodeEventRow('metabase_query_execution', { raw: null, raw_packed: forms[2], card_id: null, native: true })).toMatchObject({
      raw: { id: 7, context: 'ad-hoc' },
      card_id: 3,
      native: null,
    });
  });

  it('reads format 0 (plain JSON text) and a row stored before 0012 as it is', () => {
    const plain = Buffer.concat([Buffer.from([0]), Buffer.from(JSON.stringify([{ a: 1 }, { device_id: 'd' }]))]);
    expect(unpackRecord(plain)).toEqual({ raw: { a: 1 }, columns: { device_id: 'd' } });
    const legacy = { upstream_id: 'x', raw: { a: 1 }, raw_packed: null, device_id: 'd' };
    expect(decodeEventRow('metabase_login', legacy)).toBe(legacy);
    expect(storedRaw(legacy)).toEqual({ a: 1 });
  });

  it('refuses what is not a packed record, naming the problem', () => {
    expect(() => unpackRecord(Buffer.from([9, 1, 2]))).toThrow(/unknown format 9/);
    expect(() => unpackRecord(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => unpackRecord(Buffer.concat([Buffer.from([1]), deflateRawSync('{"not":"a pair"}')]))).toThrow();
    expect(() => unpackRecord(42)).toThrow(/not a bytea/);
  });
});
