// `accesstrail repack` at size: N sign-ins of the size the collector stores (~1.3 KB of
// JSON, bench/lib/sign-in.ts) in the form a store written before migration 0012 holds
// them (raw jsonb, every column filled, raw_packed NULL, the chain real), repacked by
// repackRecords (read in key order, checked, packed in Node, written back, vacuumed),
// beside the reference measured in the same run over the same rows: the evidence writer
// storing them in the first place (it packs and writes each one too, through COPY).
//
// The old form is made from rows the writer stored: each row's record and packed
// columns are decoded and written back as jsonb and columns in one UPDATE per chunk (a
// setup step, not measured), then VACUUM FULL so the table is what a pre-0012 store had.
//
//   npx tsx bench/repack.ts [--rows 100000]
// Uses DATABASE_URL, else a fresh database on the local Postgres (dropped at the end).
import { sql } from 'kysely';

import { openStore } from '../src/store/database.js';
import { createEvidenceRepository } from '../src/store/evidence.repository.js';
import { decodeEventRow } from '../src/store/record-codec.js';
import { repackRecords } from '../src/store/repack.js';
import { eventTables } from '../src/store/tables.js';
import { createTestDatabase } from '../test/support/database.js';
import { argValue, type Benchmark, type BenchRow, type BenchSize, isMain } from './lib/harness.js';
import { benchSignIn } from './lib/sign-in.js';

const ROWS: Record<BenchSize, number> = { quick: 5_000, '10k': 10_000, '100k': 100_000, '1m': 1_000_000 };
const START = Date.parse('2026-03-01T00:00:00Z');
const seconds = (t0: number) => (performance.now() - t0) / 1000;

export async function measureRepack(total: number, log: (line: string) => void = console.log): Promise<BenchRow[]> {
  const scratch = process.env['DATABASE_URL'] ? undefined : await createTestDatabase('accesstrail_bench_repack');
  const store = await openStore({ databaseUrl: process.env['DATABASE_URL'] ?? scratch!.url, poolSize: 3 });
  const size = `${total.toLocaleString('en')} sign-ins stored before 0012`;
  try {
    await store.db.insertInto('source').values({ id: 'entra:bench', kind: 'entra', display_name: 'bench', settings: '{}' }).execute();
    const repo = createEvidenceRepository(store.db);
    let t0 = performance.now();
    for (let offset = 0; offset < total; offset += 20_000) {
      const rows = Array.from({ length: Math.min(20_000, total - offset) }, (_, k) =>
        benchSignIn(offset + k, new Date(START + (offset + k) * 2_000), 'b0a7'),
      );
      await repo.writeEvents('entra_sign_in', 'entra:bench', rows);
    }
    const writeSeconds = seconds(t0);
    log(`repack: ${total} sign-ins written through the repository in ${writeSeconds.toFixed(1)} s`);

    // The pre-0012 form, chunk by chunk in key order.
    const packed = eventTables.entra_sign_in.packed.columns;
    let after: { at: Date; id: string } | undefined;
    for (;;) {
      const { rows } = await sql<Record<string, unknown>>`
        select * from entra_sign_in where raw_packed is not null
        ${after ? sql`and (occurred_at, upstream_id) > (${after.at}, ${after.id})` : sql``}
        order by occurred_at, upstream_id limit 10000`.execute(store.db);
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      after = { at: last['occurred_at'] as Date, id: String(last['upstream_id']) };
      const old = rows.map((row) => {
        const decoded = decodeEventRow('entra_sign_in', row);
        return Object.fromEntries([
          ['upstream_id', decoded['upstream_id']],
          ['occurred_at', decoded['occurred_at']],
          ['raw', decoded['raw']],
          ...packed.map((name) => [name, decoded[name] ?? null]),
        ]);
      });
      await sql`
        update entra_sign_in t set raw = v.raw, raw_packed = null,
          is_interactive = v.is_interactive, event_types = v.event_types,
          conditional_access_status = v.conditional_access_status, correlation_id = v.correlation_id
        from jsonb_to_recordset(${JSON.stringify(old)}::jsonb) as v(upstream_id text, occurred_at timestamptz, raw jsonb,
          is_interactive boolean, event_types text[], conditional_access_status text, correlation_id text)
        where t.source_id = 'entra:bench' and t.occurred_at = v.occurred_at and t.upstream_id = v.upstream_id`.execute(store.db);
    }
    await sql`vacuum full analyze entra_sign_in`.execute(store.db);

    t0 = performance.now();
    const [outcome] = (await repackRecords(store.db)).filter((o) => o.table === 'entra_sign_in');
    const repackSeconds = seconds(t0);
    if (!outcome || outcome.repacked !== total) throw new Error(`expected ${total} rows repacked, got ${outcome?.repacked}`);
    await sql`vacuum full entra_sign_in`.execute(store.db);
    const { rows: sized } = await sql<{ bytes: number }>`
      select coalesce(sum(pg_total_relation_size(inhrelid)), 0)::bigint as bytes from pg_inherits where inhparent = 'entra_sign_in'::regclass`.execute(
      store.db,
    );
    const fullBytes = Number(sized[0]!.bytes);
    return [
      {
        stage: 'repack (read, check, pack, write back, vacuum)',
        size,
        throughput: { value: Math.round(total / repackSeconds), unit: 'sign-ins/s' },
        seconds: repackSeconds,
        reference: { name: 'the writer storing the same rows', seconds: writeSeconds },
        note:
          `rows ${Math.round(outcome.rowBytesBefore / total)} → ${Math.round(outcome.rowBytesAfter / total)} B each; ` +
          `table with indexes ${Math.round(outcome.bytesBefore / total)} B per sign-in before, ${Math.round(fullBytes / total)} B after VACUUM FULL`,
      },
    ];
  } finally {
    await store.close();
    await scratch?.drop();
  }
}

export const benchmark: Benchmark = {
  name: 'repack',
  description: 'sign-ins stored before migration 0012 repacked, against the writer storing the same rows',
  // Not in --quick (which must stay under a minute): ~8 s even at 5,000 rows.
  sizes: ['10k', '100k'],
  async run({ size }) {
    return measureRepack(ROWS[size], () => undefined);
  },
};

if (isMain(import.meta.url)) {
  const rows = Number(argValue(process.argv, 'rows') ?? 100_000);
  for (const row of await measureRepack(rows))
    console.log(
      `${row.stage}: ${row.seconds.toFixed(2)} s (${row.throughput?.value} ${row.throughput?.unit}); reference ${row.reference?.name} ${row.reference?.seconds.toFixed(2)} s; ratio ${(row.seconds / row.reference!.seconds).toFixed(2)}; ${row.note}`,
    );
}
