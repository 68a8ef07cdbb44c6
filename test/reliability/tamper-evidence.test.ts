// Tamper evidence. A real collection of both sources fills every evidence table; then, in
// each evidence table in turn, one row is changed, one deleted and one inserted behind the
// writer's back (triggers disabled, as an attacker with database rights would), and
// `verify --store` must fail naming that row's batch. Each tamper is undone before the
// next, and the chain must verify again (so each failure is caused by its tamper). Then a
// report is written in every rendering and one byte of each file is changed at seeded
// positions: `verify FILE` must fail every time.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyReportFiles } from '../../src/reports/verify-files.js';
import { verifyChain } from '../../src/store/chain.js';
import { openStore, type Store } from '../../src/store/database.js';
import type { Database } from '../../src/store/schema.js';
import { allEvidenceTables } from '../../src/store/tables.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { collectArgs, runCli, seededRandom, startUpstreams, type Upstreams } from './harness.js';

type Tamper = 'change' | 'delete' | 'insert';

/** Runs `work` with triggers off (the revision archive would otherwise record the edit). */
async function behindTheWritersBack<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    return work(trx);
  });
}

describe.runIf(await postgresAvailable())('tamper evidence', () => {
  let upstreams: Upstreams;
  let database: TestDatabase;
  let store: Store;
  let dataDir: string;
  let outDir: string;

  beforeAll(async () => {
    upstreams = await startUpstreams({
      entraSignIns: 60,
      entraAudits: 20,
      entraUsers: 14,
      metabaseUsers: 4,
      metabaseDays: 2,
      pageSize: 100,
    });
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'tamper-data-'));
    const collected = await runCli(collectArgs(upstreams), upstreams.env(database.url, { ACCESSTRAIL_DATA_DIR: dataDir }));
    expect(collected.stderr).toBe('');
    expect(collected.code).toBe(0);
    // Workload (service principal) sign-ins come only from imports: one real-shaped export.
    const imported = await runCli(
      ['import', path.resolve('test/fixtures/imports/AADServicePrincipalSignInLogs_2026-07-04.csv')],
      upstreams.env(database.url, { ACCESSTRAIL_DATA_DIR: dataDir }),
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    outDir = path.join(dataDir, 'out');
    const from = upstreams.since.toISOString();
    const to = new Date(upstreams.until.getTime() + 86_400_000).toISOString();
    const report = await runCli(
      ['report', '--framework', 'soc2', '--from', from, '--to', to, '--format', 'json,pdf,csv,oscal', '--out', outDir],
      upstreams.env(database.url, { ACCESSTRAIL_DATA_DIR: dataDir }),
    );
    expect(report.stderr).toBe('');
    expect(report.code).toBe(0);
    store = await openStore({ databaseUrl: database.url, migrate: false, poolSize: 2 });
  }, 240_000);

  afterAll(async () => {
    await store?.close();
    await database?.drop();
    await upstreams?.close();
  });

  it('every evidence table holds rows (so every table is tampered with below)', async () => {
    for (const spec of allEvidenceTables) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(spec.name)}`.execute(store.db);
      expect(rows[0]!.n, spec.name).toBeGreaterThan(0);
    }
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  const cases: Array<{ table: string; tamper: Tamper }> = allEvidenceTables.flatMap((spec) =>
    (['change', 'delete', 'insert'] as const).map((tamper) => ({ table: spec.name, tamper })),
  );

  it.each(cases)('$tamper one row of $table: verify names its batch; undone, the chain verifies again', async ({ table, tamper }) => {
    const t = sql.table(table);
    const { rows } = await sql<{ upstream_id: string; batch_id: number; row: Record<string, unknown> }>`
      select upstream_id, batch_id, to_jsonb(x) as row from ${t} x order by batch_id desc, upstream_id limit 1`.execute(store.db);
    const victim = rows[0]!;
    const key = sql`upstream_id = ${victim.upstream_id} and batch_id = ${victim.batch_id}`;
    // A packed record (migration 0012) gets one bit of its bytes flipped (and flipped back);
    // a jsonb record a key added (and removed).
    const packed = victim.row['raw_packed'] !== null && victim.row['raw_packed'] !== undefined;
    const change = (trx: Kysely<Database>, undo = false) =>
      packed
        ? sql`update ${t} set raw_packed = set_byte(raw_packed, 8, get_byte(raw_packed, 8) # 1) where ${key}`.execute(trx)
        : undo
          ? sql`update ${t} set raw = raw - 'tampered' where ${key}`.execute(trx)
          : sql`update ${t} set raw = raw || '{"tampered": true}'::jsonb where ${key}`.execute(trx);
    await behindTheWritersBack(store.db, async (trx) => {
      if (tamper === 'change') await change(trx);
      if (tamper === 'delete') await sql`delete from ${t} where ${key}`.execute(trx);
      if (tamper === 'insert') {
        const copy = { ...victim.row, upstream_id: `${victim.upstream_id}-forged` };
        await sql`insert into ${t} select * from jsonb_populate_record(null::${t}, ${JSON.stringify(copy)}::jsonb)`.execute(trx);
      }
    });
    const result = await verifyChain(store.db);
    expect(result.intact).toBe(false);
    expect(result.firstBroken).toMatchObject({ batchId: victim.batch_id, table });
    expect(result.firstBroken!.reason).toContain(`batch ${victim.batch_id}`);
    if (table === 'entra_sign_in' || table === 'metabase_account_version') {
      // The command an auditor runs says the same, with exit status 1.
      const cli = await runCli(['verify', '--store'], { DATABASE_URL: database.url, ACCESSTRAIL_LOG_LEVEL: 'warn' });
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(new RegExp(`evidence chain broken: batch ${victim.batch_id} \\(${table}\\)`));
    }
    await behindTheWritersBack(store.db, async (trx) => {
      if (tamper === 'change') await change(trx, true);
      if (tamper === 'delete')
        await sql`insert into ${t} select * from jsonb_populate_record(null::${t}, ${JSON.stringify(victim.row)}::jsonb)`.execute(trx);
      if (tamper === 'insert') await sql`delete from ${t} where upstream_id = ${`${victim.upstream_id}-forged`}`.execute(trx);
    });
    expect(await verifyChain(store.db)).toMatchObject({ intact: true });
  });

  it('changing the header of a batch (its row count) breaks the chain at that batch', async () => {
    const { rows } = await sql<{
      id: number;
      row_count: number;
    }>`select id, row_count from evidence_batch order by id limit 1 offset 1`.execute(store.db);
    const batch = rows[0]!;
    await sql`update evidence_batch set row_count = row_count + 1 where id = ${batch.id}`.execute(store.db);
    expect((await verifyChain(store.db)).firstBroken?.batchId).toBe(batch.id);
    await sql`update evidence_batch set row_count = ${batch.row_count} where id = ${batch.id}`.execute(store.db);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('one byte changed anywhere in any rendering (JSON, PDF, CSV, OSCAL) makes verify fail', async () => {
    const files = readdirSync(outDir)
      .filter((name) => !name.includes('manifest'))
      .map((name) => path.join(outDir, name));
    const kinds = new Set(files.map((file) => (file.endsWith('.oscal.json') ? 'oscal' : path.extname(file).slice(1))));
    expect([...kinds].sort()).toEqual(['csv', 'json', 'oscal', 'pdf']);
    const env = { ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_LOG_LEVEL: 'warn' };
    const intact = await runCli(['verify', ...files], env);
    expect(intact.stderr).toBe('');
    expect(intact.code).toBe(0);
    const random = seededRandom(7);
    let changed = 0;
    for (const file of files) {
      const original = readFileSync(file);
      // The first byte, the last, and a seeded one in between.
      for (const position of [0, original.length - 1, Math.floor(random() * original.length)]) {
        const tampered = Buffer.from(original);
        tampered[position] = tampered[position]! ^ 0x01;
        writeFileSync(file, tampered);
        changed++;
        // In-process, the function `verify FILE` runs (a process per flip is slow on a busy machine);
        // the first flip of each file also goes through the command.
        const lines: string[] = [];
        await expect(
          verifyReportFiles([file], { dataDir, print: (line) => lines.push(line) }),
          `${path.basename(file)} byte ${position}`,
        ).rejects.toMatchObject({ code: 'VERIFY_FAILED' });
        expect(lines.join('\n')).toContain('NOT INTACT');
        if (position === 0 && file.endsWith('.csv') === false) {
          const outcome = await runCli(['verify', file], env);
          expect(outcome.code, `${path.basename(file)} byte ${position}`).toBe(1);
          expect(outcome.stdout).toContain('NOT INTACT');
        }
      }
      writeFileSync(file, original);
    }
    expect((await runCli(['verify', ...files], env)).code).toBe(0);
    console.info(
      `tamper evidence: ${cases.length} row tampers over ${allEvidenceTables.length} tables, ${changed} one-byte changes over ${files.length} report files`,
    );
  }, 300_000);
});
