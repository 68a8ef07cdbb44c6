// Evidence retention at size: one month of N sign-ins (written through the evidence
// repository, so the chain is real) archived by `archivePartitions` (gzip NDJSON in
// batch order, fsync, read back and checked, detach, drop), beside references measured
// in the same run over the same rows:
//   archive          vs  one COPY of the partition's rows (to_jsonb text) through gzip to a file
//   verify --store   from the archive file  vs  the same walk before the archive (rows in the store)
//   restore          vs  INSERT … SELECT of the same rows into a table of the same shape
//
//   npx tsx bench/archive.ts [--rows 100000]
// Uses DATABASE_URL, else a fresh database on the local Postgres (dropped at the end).
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

import { archivePartitions, restoreArchive } from '../src/store/archive.js';
import { verifyChain } from '../src/store/chain.js';
import { openStore } from '../src/store/database.js';
import { createEvidenceRepository } from '../src/store/evidence.repository.js';
import type { EventRecord } from '../src/store/tables.js';
import { createTestDatabase } from '../test/support/database.js';
import { argValue, type Benchmark, type BenchRow, type BenchSize, isMain } from './lib/harness.js';
import { benchSignIn } from './lib/sign-in.js';

const MONTH = Date.parse('2024-03-01T00:00:00Z');
const MONTH_MS = 31 * 86_400_000;
const ROWS: Record<BenchSize, number> = { quick: 5_000, '10k': 10_000, '100k': 100_000, '1m': 1_000_000 };

/** Sign-in `i` of `total`, spread over the one month archived. */
function signIn(i: number, total: number): EventRecord {
  return benchSignIn(i, new Date(MONTH + Math.floor((i * (MONTH_MS - 1000)) / total)), 'a1c4');
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

export async function measureArchive(total: number, log: (line: string) => void = console.log): Promise<BenchRow[]> {
  const scratch = process.env['DATABASE_URL'] ? undefined : await createTestDatabase('accesstrail_bench_archive');
  const url = process.env['DATABASE_URL'] ?? scratch!.url;
  const store = await openStore({ databaseUrl: url, poolSize: 3 });
  const dir = mkdtempSync(path.join(tmpdir(), 'accesstrail-bench-archive-'));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const size = `${total.toLocaleString('en')} sign-ins (one month)`;
  try {
    await store.db.insertInto('source').values({ id: 'entra:bench', kind: 'entra', display_name: 'bench', settings: '{}' }).execute();
    const repo = createEvidenceRepository(store.db);
    let t0 = performance.now();
    for (let offset = 0; offset < total; offset += 20_000) {
      const rows = Array.from({ length: Math.min(20_000, total - offset) }, (_, k) => signIn(offset + k, total));
      await repo.writeEvents('entra_sign_in', 'entra:bench', rows);
    }
    log(`archive: ${size} written through the repository in ${seconds(t0).toFixed(1)} s`);
    await client.query('analyze entra_sign_in_2024_03');

    // References, before the archive, over the same rows.
    t0 = performance.now();
    const verifiedInStore = await verifyChain(store.db);
    const verifyStoreSeconds = seconds(t0);
    if (!verifiedInStore.intact) throw new Error(`chain broken before the archive: ${verifiedInStore.firstBroken?.reason}`);
    const copyFile = path.join(dir, 'reference.ndjson.gz');
    t0 = performance.now();
    await pipeline(
      client.query(copyTo(`copy (select to_jsonb(t)::text from entra_sign_in_2024_03 t) to stdout with (format text)`)),
      createGzip({ level: 6 }),
      createWriteStream(copyFile),
    );
    const copySeconds = seconds(t0);
    await client.query('create table bench_restore_reference (like entra_sign_in including all)');
    t0 = performance.now();
    await client.query('insert into bench_restore_reference select * from entra_sign_in_2024_03');
    const insertSeconds = seconds(t0);
    await client.query('drop table bench_restore_reference');

    // The archive.
    t0 = performance.now();
    const outcome = await archivePartitions({
      db: store.db,
      archiveDir: dir,
      horizon: new Date('2025-01-01T00:00:00Z'),
      protectedPeriods: [],
    });
    const archiveSeconds = seconds(t0);
    const archived = outcome.archived.find((a) => a.name === 'entra_sign_in_2024_03');
    if (!archived || archived.rows !== total) throw new Error(`expected ${total} rows archived, got ${archived?.rows}`);
    const fileBytes = statSync(archived.file).size;

    t0 = performance.now();
    const verifiedFromFile = await verifyChain(store.db, { archiveDir: dir });
    const verifyFileSeconds = seconds(t0);
    if (!verifiedFromFile.intact || verifiedFromFile.archived?.rows !== total)
      throw new Error(`verify from the archive: ${verifiedFromFile.firstBroken?.reason ?? `${verifiedFromFile.archived?.rows} rows`}`);

    t0 = performance.now();
    const restored = await restoreArchive(store.db, archived.file);
    const restoreSeconds = seconds(t0);
    if (restored.rows !== total) throw new Error(`restored ${restored.rows} rows`);

    return [
      {
        stage: 'archive (write, read back, detach, drop)',
        size,
        throughput: { value: Math.round(total / archiveSeconds), unit: 'sign-ins/s' },
        seconds: archiveSeconds,
        reference: { name: 'COPY of the partition through gzip', seconds: copySeconds },
        note: `${Math.round(fileBytes / total)} B per sign-in in the file (${(fileBytes / 1e6).toFixed(1)} MB)`,
      },
      {
        stage: 'verify --store from the archive file',
        size,
        throughput: { value: Math.round(total / verifyFileSeconds), unit: 'sign-ins/s' },
        seconds: verifyFileSeconds,
        reference: { name: 'the same walk before the archive (rows in the store)', seconds: verifyStoreSeconds },
      },
      {
        stage: 'archive --restore (check, load)',
        size,
        throughput: { value: Math.round(total / restoreSeconds), unit: 'sign-ins/s' },
        seconds: restoreSeconds,
        reference: { name: 'INSERT … SELECT of the same rows', seconds: insertSeconds },
      },
    ];
  } finally {
    await client.end();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    await scratch?.drop();
  }
}

export const benchmark: Benchmark = {
  name: 'archive',
  description: 'one month of sign-ins archived, verified from the file and restored, against COPY, the in-store walk and INSERT … SELECT',
  sizes: ['quick', '10k', '100k', '1m'],
  async run({ size }) {
    return measureArchive(ROWS[size], () => undefined);
  },
};

if (isMain(import.meta.url)) {
  const rows = Number(argValue(process.argv, 'rows') ?? 100_000);
  const result = await measureArchive(rows);
  for (const row of result)
    console.log(
      `${row.stage}: ${row.seconds.toFixed(2)} s (${row.throughput?.value} ${row.throughput?.unit}); reference ${row.reference?.name} ${row.reference?.seconds.toFixed(2)} s; ratio ${(row.seconds / row.reference!.seconds).toFixed(2)}${row.note ? `; ${row.note}` : ''}`,
    );
}
