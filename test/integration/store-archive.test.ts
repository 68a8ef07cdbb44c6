// Evidence retention (issue 13, "the store at size"): with the clock moved to 2027-03-10
// and 12 months of retention, the monthly partitions before 2026-03 are archived to
// gzip NDJSON files and dropped, except those inside a stored report's period or a
// quarter whose reports are not built yet. The files verify (the chain walk reads them
// back), a rerun changes nothing, a report over an archived month is refused, coverage
// no longer claims the archived months, a failure between the archive and the drop
// loses nothing, and an archive loads back byte for byte. Both engines.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKeyRepository } from '../../src/api/api-keys.js';
import { buildApp } from '../../src/api/app.js';
import { type Config, parseConfig } from '../../src/config.js';
import { loadInventory } from '../../src/correlation/inventory.js';
import { runEvidenceArchive } from '../../src/jobs/evidence-retention.js';
import { createLogger } from '../../src/logger.js';
import { createReport } from '../../src/reports/service.js';
import { archivePartitions, duringReportBuild, restoreArchive } from '../../src/store/archive.js';
import { verifyChain } from '../../src/store/chain.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import type { Database } from '../../src/store/schema.js';
import { engines, openTestStore, postgresAvailable, type TestStore } from '../support/database.js';
import { signInRecord } from '../support/factories.js';

const NOW = new Date('2027-03-10T12:00:00Z');
const SOURCE = 'entra:retention';
/** A second tenant, collected over the same months, that had no sign-in in them. */
const QUIET = 'entra:quiet';
const logger = createLogger({ level: 'silent' });

async function partitionsOf(store: TestStore, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = ${table}::regclass order by c.relname`.execute(store.db);
  return rows.map((r) => r.name);
}

async function rowsOf(store: TestStore, partition: string): Promise<string[]> {
  const { rows } = await sql<{ line: string }>`
    select to_jsonb(t)::text as line from ${sql.table(partition)} t order by t.upstream_id`.execute(store.db);
  return rows.map((r) => r.line);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A stored SOC 2 report over [from, to) with no content: what protects its months from archival. */
async function insertPlaceholderReport(db: Kysely<Database>, id: string, from: string, to: string): Promise<void> {
  const day = 86_400_000;
  await db
    .insertInto('report')
    .values({
      id,
      framework: 'soc2',
      period_from: new Date(from),
      period_to: new Date(to),
      as_of: new Date(to),
      generated_at: new Date(new Date(to).getTime() + day),
      provisional: false,
      content_sha256: '0'.repeat(64),
      signature: '{}',
      content: '{}',
      content_json: null,
      content_json_sha256: null,
    })
    .execute();
}

describe.each(engines)('evidence retention on %s', (engine) => {
  let store: TestStore;
  let config: Config;
  let dataDir: string;
  const before = new Map<string, string[]>();

  beforeAll(async () => {
    store = await openTestStore(engine);
    dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-archive-'));
    config = parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '12' }, dataDir);
    await store.db
      .insertInto('source')
      .values([
        { id: SOURCE, kind: 'entra', display_name: 'R', settings: '{}' },
        { id: QUIET, kind: 'entra', display_name: 'Q', settings: '{}' },
      ])
      .execute();
    const evidence = createEvidenceRepository(store.db);
    // January and February 2025: past the horizon (2026-03-01), no report.
    await evidence.writeEvents('entra_sign_in', SOURCE, [
      signInRecord({ id: 'jan-1', at: '2025-01-05T08:00:00Z' }),
      signInRecord({
        id: 'jan-2',
        at: '2025-01-20T09:30:00.123Z',
        extra: { location: { city: 'Zürich' }, note: 'a "quoted" line\nbreak' },
      }),
    ]);
    // Upstream republished jan-1: its first version goes to evidence_revision.
    await evidence.writeEvents('entra_sign_in', SOURCE, [signInRecord({ id: 'jan-1', at: '2025-01-05T08:00:00Z', errorCode: 50126 })]);
    // One batch across February (archived) and April (kept: a report's period).
    await evidence.writeEvents('entra_sign_in', SOURCE, [
      signInRecord({ id: 'feb-1', at: '2025-02-27T23:59:59Z' }),
      signInRecord({ id: 'apr-1', at: '2025-04-02T10:00:00Z' }),
    ]);
    // Inside quarters whose reports are not built yet (2026) and inside the horizon.
    await evidence.writeEvents('entra_sign_in', SOURCE, [
      signInRecord({ id: 'sep-1', at: '2025-09-15T10:00:00Z' }),
      signInRecord({ id: 'feb26', at: '2026-02-10T10:00:00Z' }),
      signInRecord({ id: 'oct26', at: '2026-10-10T10:00:00Z' }),
    ]);
    // The stream was collected completely from 2025-01-01 on; a stored report covers 2025-Q2.
    const collection = createCollectionRepository(store.db);
    await collection.addCoverage(
      SOURCE,
      'entra-sign-ins',
      { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2026-11-01T00:00:00Z') },
      null,
    );
    await collection.addCoverage(
      QUIET,
      'entra-sign-ins',
      { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-04-01T00:00:00Z') },
      null,
    );
    await insertPlaceholderReport(store.db, 'soc2-2025-Q2-test', '2025-04-01T00:00:00Z', '2025-07-01T00:00:00Z');
    for (const name of ['entra_sign_in_2025_01', 'entra_sign_in_2025_02']) before.set(name, await rowsOf(store, name));
    expect((await verifyChain(store.db)).intact).toBe(true);
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const run = (options: Parameters<typeof runEvidenceArchive>[1] = {}) =>
    runEvidenceArchive({ store, config, logger, now: () => NOW }, options);

  it('says what it would do, and why, without changing anything (dry run)', async () => {
    const plan = (await run({ dryRun: true }))!;
    expect(plan.horizon.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    const byName = new Map(plan.decisions.map((d) => [d.name, d]));
    expect(byName.get('entra_sign_in_2025_01')).toMatchObject({ action: 'archive' });
    expect(byName.get('entra_sign_in_2025_02')).toMatchObject({ action: 'archive' });
    expect(byName.get('entra_sign_in_2025_04')).toMatchObject({ action: 'keep' });
    expect(byName.get('entra_sign_in_2025_04')!.reason).toContain('report soc2-2025-Q2-test');
    expect(byName.get('entra_sign_in_2025_09')).toMatchObject({ action: 'archive' });
    // 2026-Q1: a closed quarter (of the reports job's look-back) with no report yet.
    expect(byName.get('entra_sign_in_2026_02')!.reason).toContain('2026-Q1');
    expect(byName.get('entra_sign_in_2026_10')!.reason).toMatch(/retention horizon/);
    expect(plan.archived).toEqual([]);
    expect(await partitionsOf(store, 'entra_sign_in')).toContain('entra_sign_in_2025_01');
  });

  it('a failure between the archive file and the drop loses nothing, and the rerun finishes cleanly', async () => {
    await expect(
      run({
        onStep: (step, partition) => {
          if (step === 'detached' && partition.name === 'entra_sign_in_2025_01') throw new Error('power cut after DETACH');
        },
      }),
    ).rejects.toThrow('power cut after DETACH');
    // The transaction rolled back: the partition is attached with every row, no manifest recorded.
    expect(await partitionsOf(store, 'entra_sign_in')).toContain('entra_sign_in_2025_01');
    expect(await rowsOf(store, 'entra_sign_in_2025_01')).toEqual(before.get('entra_sign_in_2025_01'));
    expect(await store.db.selectFrom('evidence_archive').select('id').execute()).toEqual([]);
    // Its file was written and published before the transaction: left behind, rewritten below.
    expect(readdirSync(config.archiveDir)).toContain('entra_sign_in_2025_01.1.ndjson.gz');
    expect((await verifyChain(store.db, { archiveDir: config.archiveDir })).intact).toBe(true);
  });

  it('archives and drops the partitions past the horizon, keeping those of a report and of pending quarters', async () => {
    const outcome = (await run())!;
    expect(outcome.archived.map((a) => a.name).sort()).toEqual(['entra_sign_in_2025_01', 'entra_sign_in_2025_02', 'entra_sign_in_2025_09']);
    const left = await partitionsOf(store, 'entra_sign_in');
    expect(left).not.toContain('entra_sign_in_2025_01');
    expect(left).not.toContain('entra_sign_in_2025_02');
    expect(left).toEqual(expect.arrayContaining(['entra_sign_in_2025_04', 'entra_sign_in_2026_02', 'entra_sign_in_2026_10']));
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_class where relname = 'entra_sign_in_2025_01'`.execute(
      store.db,
    );
    expect(rows[0]!.n).toBe(0);
    // The other rows are untouched.
    expect((await rowsOf(store, 'entra_sign_in_2025_04')).map((line) => JSON.parse(line).upstream_id)).toEqual(['apr-1']);
  });

  it('writes every row verbatim, and a manifest whose hash and counts match the store', async () => {
    const archives = await store.db.selectFrom('evidence_archive').selectAll().orderBy('month_from').execute();
    expect(archives.map((a) => a.partition_name)).toEqual(['entra_sign_in_2025_01', 'entra_sign_in_2025_02', 'entra_sign_in_2025_09']);
    for (const archive of archives.slice(0, 2)) {
      const bytes = readFileSync(path.join(config.archiveDir, archive.file_name));
      expect(sha256(bytes)).toBe(archive.file_sha256);
      expect(bytes.length).toBe(Number(archive.file_bytes));
      const lines = gunzipSync(bytes).toString('utf8').trimEnd().split('\n');
      // The same rows as Postgres rendered them before the drop (batch id, record hash, raw).
      expect([...lines].sort()).toEqual([...before.get(archive.partition_name)!].sort());
      expect(lines.length).toBe(Number(archive.row_count));
      for (const line of lines)
        expect(JSON.parse(line)).toMatchObject({ batch_id: expect.any(Number), record_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const manifestText = readFileSync(path.join(config.archiveDir, archive.file_name.replace('.ndjson.gz', '.manifest.json')));
      expect(sha256(manifestText)).toBe(archive.manifest_sha256);
      const manifest = JSON.parse(manifestText.toString('utf8'));
      expect(manifest).toMatchObject({
        table: 'entra_sign_in',
        partition: archive.partition_name,
        rows: lines.length,
        sha256: archive.file_sha256,
      });
      expect(manifest.sources).toEqual({ [SOURCE]: lines.length });
    }
    expect(readdirSync(config.archiveDir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });

  it('the chain verifies from the archive files, and reports archived batches as archived when the files are elsewhere', async () => {
    const full = await verifyChain(store.db, { archiveDir: config.archiveDir });
    expect(full).toMatchObject({ intact: true, archived: { archives: 3, filesChecked: 3, unavailable: [], unverifiedBatches: 0 } });
    expect(full.archived!.rows).toBe(4);
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'accesstrail-cold-'));
    const moved = await verifyChain(store.db, { archiveDir: elsewhere });
    rmSync(elsewhere, { recursive: true, force: true });
    expect(moved.intact).toBe(true);
    expect(moved.archived!.unavailable.map((u) => u.file).sort()).toEqual([
      'entra_sign_in_2025_01.1.ndjson.gz',
      'entra_sign_in_2025_02.1.ndjson.gz',
      'entra_sign_in_2025_09.1.ndjson.gz',
    ]);
    expect(moved.archived!.unverifiedBatches).toBeGreaterThanOrEqual(3);
  });

  it('a changed archive file breaks the chain check, naming the file', async () => {
    const file = path.join(config.archiveDir, 'entra_sign_in_2025_01.1.ndjson.gz');
    const original = readFileSync(file);
    const lines = gunzipSync(original).toString('utf8').replace('"ada@example.com"', '"eve@example.com"');
    writeFileSync(file, gzipSync(lines));
    try {
      const result = await verifyChain(store.db, { archiveDir: config.archiveDir });
      expect(result.intact).toBe(false);
      expect(result.firstBroken!.reason).toMatch(
        /no longer matches its recorded hash \(\d of its rows read from entra_sign_in_2025_01\.1\.ndjson\.gz\)/,
      );
      // The same rows, compressed otherwise: the file's bytes are not the manifest's.
      writeFileSync(file, gzipSync(gunzipSync(original), { level: 1 }));
      const recompressed = await verifyChain(store.db, { archiveDir: config.archiveDir });
      expect(recompressed.intact).toBe(false);
      expect(recompressed.firstBroken!.reason).toMatch(
        /archive entra_sign_in_2025_01\.1\.ndjson\.gz \(entra_sign_in 2025-01\): its SHA-256 is [0-9a-f]{64}, the manifest recorded [0-9a-f]{64}: the file was changed/,
      );
    } finally {
      writeFileSync(file, original);
    }
    expect((await verifyChain(store.db, { archiveDir: config.archiveDir })).intact).toBe(true);
  });

  it('a rerun is idempotent', async () => {
    const files = readdirSync(config.archiveDir).sort();
    const again = (await run())!;
    expect(again.archived).toEqual([]);
    expect(again.deferred).toEqual([]);
    expect(readdirSync(config.archiveDir).sort()).toEqual(files);
    expect(await store.db.selectFrom('evidence_archive').select('id').execute()).toHaveLength(3);
  });

  it('coverage no longer claims the archived months, and a report over them is refused', async () => {
    const inventory = await loadInventory(store.db, { metabaseAppIds: [], adminGroupIds: [] });
    expect(inventory.coverage(SOURCE, 'entra-sign-ins').map((r) => [r.from.toISOString(), r.to.toISOString()])).toEqual([
      ['2025-03-01T00:00:00.000Z', '2025-09-01T00:00:00.000Z'],
      ['2025-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z'],
    ]);
    // The quiet tenant had no rows in those months: nothing of it left the store.
    expect(inventory.coverage(QUIET, 'entra-sign-ins')).toEqual([
      { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-04-01T00:00:00Z') },
    ]);
    // /v1/coverage says which months are archived, and where.
    const app = await buildApp({ store, config, logger, now: () => NOW });
    try {
      const key = (await createApiKeyRepository(store.db).create({ name: 'auditor', scopes: ['reports:read'] })).key;
      const response = await app.inject({ method: 'GET', url: '/v1/coverage', headers: { authorization: `Bearer ${key}` } });
      expect(response.statusCode, response.body).toBe(200);
      const streams = response
        .json()
        .sources.map((s: { sourceId: string; streams: { stream: string; archived: unknown[] }[] }) => [
          s.sourceId,
          s.streams.map((stream) => stream.archived),
        ]);
      const archives = await store.db.selectFrom('evidence_archive').select(['file_name', 'file_sha256']).orderBy('month_from').execute();
      expect(streams).toEqual([
        [QUIET, [[]]],
        [
          SOURCE,
          [
            [
              {
                from: '2025-01-01T00:00:00.000Z',
                to: '2025-02-01T00:00:00.000Z',
                rows: 2,
                file: archives[0]!.file_name,
                sha256: archives[0]!.file_sha256,
              },
              {
                from: '2025-02-01T00:00:00.000Z',
                to: '2025-03-01T00:00:00.000Z',
                rows: 1,
                file: archives[1]!.file_name,
                sha256: archives[1]!.file_sha256,
              },
              {
                from: '2025-09-01T00:00:00.000Z',
                to: '2025-10-01T00:00:00.000Z',
                rows: 1,
                file: archives[2]!.file_name,
                sha256: archives[2]!.file_sha256,
              },
            ],
          ],
        ],
      ]);
    } finally {
      await app.close();
    }
    const refused = createReport(
      { db: store.db, config, logger, now: () => NOW },
      { framework: 'soc2', period: { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-04-01T00:00:00Z') }, formats: ['json'] },
    );
    await expect(refused).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(refused).rejects.toThrow(/entra_sign_in 2025-01 .*entra_sign_in_2025_01\.1\.ndjson\.gz, sha256 [0-9a-f]{64}/);
  });

  it('loads an archive back, byte for byte, after checking it; a changed file is refused', async () => {
    const file = path.join(config.archiveDir, 'entra_sign_in_2025_02.1.ndjson.gz');
    const original = readFileSync(file);
    writeFileSync(file, gzipSync(gunzipSync(original).toString('utf8').replace('feb-1', 'feb-9')));
    await expect(restoreArchive(store.db, file)).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
    writeFileSync(file, original);
    const restored = await restoreArchive(store.db, file);
    expect(restored).toMatchObject({ table: 'entra_sign_in', partition: 'entra_sign_in_2025_02', rows: 1 });
    expect(await rowsOf(store, 'entra_sign_in_2025_02')).toEqual(before.get('entra_sign_in_2025_02'));
    // The batch across February and April is whole in the store again; January and September are still read from files.
    const result = await verifyChain(store.db, { archiveDir: config.archiveDir });
    expect(result).toMatchObject({ intact: true, archived: { archives: 2, filesChecked: 2 } });
    await expect(restoreArchive(store.db, file)).rejects.toMatchObject({ code: 'CONFLICT' });
    const inventory = await loadInventory(store.db, { metabaseAppIds: [], adminGroupIds: [] });
    expect(inventory.coverage(SOURCE, 'entra-sign-ins')[0]!.from.toISOString()).toBe('2025-02-01T00:00:00.000Z');
    // Restored evidence past the horizon is archived again by the next run, in a new file.
    const next = (await run())!;
    expect(next.archived.map((a) => path.basename(a.file))).toEqual(['entra_sign_in_2025_02.2.ndjson.gz']);
    expect((await verifyChain(store.db, { archiveDir: config.archiveDir })).intact).toBe(true);
  });

  it('without a retention setting nothing is archived', async () => {
    const keepForever = parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '' }, dataDir);
    expect(keepForever.ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS).toBeUndefined();
    expect(keepForever.archiveDir).toBe(path.join(dataDir, 'archive'));
    expect(await runEvidenceArchive({ store, config: keepForever, logger, now: () => NOW })).toBeUndefined();
  });
});

describe('a batch larger than a page', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('is read in key order page by page, archived whole, verified and restored', async () => {
    await store.db.insertInto('source').values({ id: SOURCE, kind: 'entra', display_name: 'R', settings: '{}' }).execute();
    await createEvidenceRepository(store.db).writeEvents(
      'entra_sign_in',
      SOURCE,
      Array.from({ length: 7 }, (_, i) => signInRecord({ id: `p-${i}`, at: `2024-01-0${i + 1}T10:00:00.${i}00123Z` })),
    );
    const lines = await rowsOf(store, 'entra_sign_in_2024_01');
    const archiveDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-archive-pages-'));
    const outcome = await archivePartitions({
      db: store.db,
      archiveDir,
      horizon: new Date('2025-01-01T00:00:00Z'),
      protectedPeriods: [],
      pageRows: 3,
    });
    expect(outcome.archived.map((a) => a.rows)).toEqual([7]);
    const written = gunzipSync(readFileSync(outcome.archived[0]!.file)).toString('utf8').trimEnd().split('\n');
    expect(written).toEqual(lines);
    expect(await verifyChain(store.db, { archiveDir })).toMatchObject({ intact: true, archived: { rows: 7, filesChecked: 1 } });
    await restoreArchive(store.db, outcome.archived[0]!.file, { pageRows: 3 });
    expect(await rowsOf(store, 'entra_sign_in_2024_01')).toEqual(lines);
    rmSync(archiveDir, { recursive: true, force: true });
  });
});

describe.runIf(await postgresAvailable())('an archive run meeting a report build or a busy table', () => {
  let store: TestStore;
  let archiveDir: string;
  beforeAll(async () => {
    store = await openTestStore('postgres');
    archiveDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-archive-busy-'));
    await store.db.insertInto('source').values({ id: SOURCE, kind: 'entra', display_name: 'R', settings: '{}' }).execute();
    await createEvidenceRepository(store.db).writeEvents('entra_sign_in', SOURCE, [
      signInRecord({ id: 'b-1', at: '2024-02-03T10:00:00Z' }),
    ]);
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(archiveDir, { recursive: true, force: true });
  });
  const archive = (lockTimeoutMs = 60_000) =>
    archivePartitions({ db: store.db, archiveDir, horizon: new Date('2025-01-01T00:00:00Z'), protectedPeriods: [], lockTimeoutMs });

  it('leaves the partition while a report is being built, and archives it afterwards', async () => {
    const during = await duringReportBuild(store.db, () => archive());
    expect(during.archived).toEqual([]);
    expect(during.deferred).toEqual([{ partition: 'entra_sign_in_2024_02', reason: 'a report is being built; the next run tries again' }]);
    expect(await partitionsOf(store, 'entra_sign_in')).toContain('entra_sign_in_2024_02');
  });

  it('keeps a month that a report stored while the run was writing its file covers', async () => {
    const outcome = await archivePartitions({
      db: store.db,
      archiveDir,
      horizon: new Date('2025-01-01T00:00:00Z'),
      protectedPeriods: [],
      onStep: async (step) => {
        if (step !== 'file-published') return;
        await insertPlaceholderReport(store.db, 'soc2-2024-Q1-late', '2024-01-01T00:00:00Z', '2024-04-01T00:00:00Z');
      },
    });
    expect(outcome.archived).toEqual([]);
    expect(outcome.deferred).toEqual([
      { partition: 'entra_sign_in_2024_02', reason: 'report soc2-2024-Q1-late, stored during this run, covers it' },
    ]);
    await store.db.deleteFrom('report').where('id', '=', 'soc2-2024-Q1-late').execute();
  });

  it('gives up on a table held by a long reader after lock_timeout, changing nothing', async () => {
    const reader = new pg.Client({ connectionString: store.url });
    await reader.connect();
    try {
      await reader.query('begin');
      await reader.query('select count(*) from entra_sign_in');
      const busy = await archive(300);
      expect(busy.archived).toEqual([]);
      expect(busy.deferred[0]!.reason).toMatch(/^the table was busy \(55P03\)/);
      expect(await store.db.selectFrom('evidence_archive').select('id').execute()).toEqual([]);
    } finally {
      await reader.query('rollback');
      await reader.end();
    }
    const free = await archive();
    expect(free.archived.map((a) => a.name)).toEqual(['entra_sign_in_2024_02']);
    expect((await verifyChain(store.db, { archiveDir })).intact).toBe(true);
  });
});
