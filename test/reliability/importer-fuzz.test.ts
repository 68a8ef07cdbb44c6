// Property-based fuzzing (fast-check) of every file importer, through the importer table
// `accesstrail import` dispatches on (src/cli/commands/import.ts), so an importer added
// there is fuzzed too, whatever its format. Bytes in: random bytes, JSON-shaped and
// CSV-shaped text with hostile cells (NUL, lone surrogates, BOMs, quotes, CR/LF, very
// long fields). The contract: the import either succeeds (records stored or quarantined)
// or fails with the product's own error (AppError) carrying one clear line — never a
// TypeError, an unhandled rejection or a crash — and the hash chain still verifies.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { importers } from '../../src/cli/commands/import.js';
import { type CollectContext, silentProgress } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { isAppError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { verifyChain } from '../../src/store/chain.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';

const RUNS = Number(process.env['RELIABILITY_IMPORT_FUZZ_RUNS'] ?? 150);

const nasty = fc.constantFrom(
  '\u0000',
  '\ud800',
  '\ufeff',
  '"',
  '""',
  ',',
  ';',
  '\r\n',
  '\n',
  '\t',
  '=1+1',
  '-',
  'null',
  'true',
  '1e309',
  '2026-02-30T25:00:00Z',
  '9'.repeat(30),
  'x'.repeat(70_000),
  '\u202e',
  '{',
  '[',
  '\\',
);
const cell = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  nasty,
  fc.integer().map(String),
  fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString())),
);
// Field names a little like the real ones, so some inputs get past the header checks.
const fieldName = fc.oneof(
  fc.constantFrom(
    'id',
    'createdDateTime',
    'activityDateTime',
    'userId',
    'userPrincipalName',
    'appId',
    'status',
    'Date (UTC)',
    'Request ID',
    'User',
    'Application ID',
    'started_at',
    'user_id',
    'timestamp',
    'model',
    'topic',
    'Started At',
    'User ID',
    'Query',
  ),
  fc.string({ maxLength: 10 }),
);

const csvText = fc
  .tuple(
    fc.array(fieldName, { minLength: 1, maxLength: 8 }),
    fc.array(fc.array(cell, { maxLength: 9 }), { maxLength: 12 }),
    fc.boolean(),
    fc.constantFrom('\n', '\r\n', '\r'),
  )
  .map(([header, rows, bom, eol]) => {
    const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    return (bom ? '\ufeff' : '') + [header, ...rows].map((row) => row.map(quote).join(',')).join(eol);
  });

const jsonText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  fc
    .array(fc.dictionary(fieldName, fc.oneof(cell, fc.jsonValue()), { maxKeys: 8 }), { maxLength: 10 })
    .map((records) => JSON.stringify(records)),
  fc.array(fc.dictionary(fieldName, cell, { maxKeys: 6 }), { maxLength: 6 }).map((records) => JSON.stringify({ value: records })),
  fc.array(fc.dictionary(fieldName, cell, { maxKeys: 6 }), { maxLength: 6 }).map((records) => JSON.stringify(records).slice(0, -3)), // truncated
);

const fileContent = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
  csvText.map((text) => Buffer.from(text, 'utf8')),
  jsonText.map((text) => Buffer.from(text, 'utf8')),
  // Text cut in the middle of a multi-byte character, and Latin-1 bytes.
  csvText.map((text) => Buffer.from(text, 'utf8').subarray(0, Math.max(0, Buffer.byteLength(text) - 1))),
  csvText.map((text) => Buffer.from(text, 'latin1')),
  fc.constant(Buffer.alloc(0)),
);

describe('fuzzing every file importer', () => {
  let store: TestStore;
  let context: CollectContext;
  let dir: string;
  const tally: Record<string, { ok: number; refused: number }> = {};

  beforeAll(async () => {
    store = await openTestStore('postgres');
    dir = mkdtempSync(path.join(tmpdir(), 'import-fuzz-'));
    const collection = createCollectionRepository(store.db);
    context = {
      store,
      config: parseConfig({ AZURE_TENANT_ID: '8f7c1e2a-0b3d-4c5e-9f6a-7b8c9d0e1f2a', ACCESSTRAIL_DATA_DIR: dir }, dir),
      logger: createLogger({ level: 'silent' }),
      runId: await collection.startRun('import', { fuzz: true }),
      evidence: createEvidenceRepository(store.db),
      collection,
      progress: silentProgress,
      now: () => new Date(),
    };
  });
  afterAll(async () => {
    console.info(`importer fuzz: ${JSON.stringify(tally)}`);
    await store?.dispose();
  });

  it('the importer table is not empty (new importers are fuzzed from it)', () => {
    expect(Object.keys(importers).length).toBeGreaterThanOrEqual(4);
  });

  it.each(Object.keys(importers))(
    `%s: any bytes in, an import or a clear refusal out (${RUNS} runs)`,
    async (kind) => {
      tally[kind] = { ok: 0, refused: 0 };
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fileContent, fc.constantFrom('.csv', '.json', '.txt'), async (content, extension) => {
          const file = path.join(dir, `${kind}-${++n}${extension}`);
          writeFileSync(file, content);
          try {
            const summary = await importers[kind]!.run(context, file, { claimCoverage: true });
            expect(summary.records).toBeGreaterThanOrEqual(0);
            expect(summary.inserted + summary.revised + summary.quarantined).toBeLessThanOrEqual(summary.records + summary.quarantined);
            tally[kind]!.ok++;
          } catch (error) {
            if (!isAppError(error))
              throw new Error(`${kind} threw a ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`, { cause: error });
            expect(error.message.trim(), 'a message').not.toBe('');
            expect(error.message.split('\n'), `one line: ${JSON.stringify(error.message)}`).toHaveLength(1);
            tally[kind]!.refused++;
          }
        }),
        { numRuns: RUNS, seed: 99 },
      );
      expect(await verifyChain(store.db)).toMatchObject({ intact: true });
    },
    300_000,
  );
});
