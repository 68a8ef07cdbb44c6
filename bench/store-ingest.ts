// Store ingest: N synthetic sign-in rows through the evidence repository (idempotent
// upsert + hash chain), beside a plain COPY of the same rows, as the repository stores
// them, into a scratch table of the same columns and primary key in the same run (aim,
// issue 13: at least 0.8× COPY's throughput), and the bytes the store holds per sign-in,
// all indexes included (aim: at most 1 KB). A COPY of the same records in the shape
// before migration 0012 (record as jsonb) is printed beside, for comparison.
//
//   npx tsx bench/store-ingest.ts [--rows 1000000] [--batch 5000]
//   npx tsx bench/store-ingest.ts --queries 100000   (bytes per Metabase query execution)
// Uses DATABASE_URL, else a fresh database on the local Postgres (127.0.0.1:5432).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { sql } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { openStore } from '../src/store/database.js';
import { createEvidenceRepository, storedEventRows } from '../src/store/evidence.repository.js';
import { type EventRecord, eventTables } from '../src/store/tables.js';
import { createTestDatabase } from '../test/support/database.js';
import { type Benchmark, isMain } from './lib/harness.js';
import { benchSignIn } from './lib/sign-in.js';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const batchRows = arg('batch', 5_000);
// Rows handed to one writeEvents call (a collector hands over pages as they arrive).
const callRows = arg('call', 20_000);
const start = Date.parse('2026-07-01T00:00:00Z');

const signIn = (i: number): EventRecord => benchSignIn(i, new Date(start + i * 7_000));

function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = Array.isArray(value)
    ? `{${value.map((v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`).join(',')}}`
    : value instanceof Date
      ? value.toISOString()
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

// The shape of entra_sign_in before migration 0012: every column, the record as jsonb.
const jsonbColumns = ['source_id', 'upstream_id', 'occurred_at', ...eventTables.entra_sign_in.columns.map((column) => column.name), 'raw'];

export interface IngestMeasurement {
  rows: number;
  repoSeconds: number;
  /** COPY of the same rows as stored (the reference). */
  copySeconds: number;
  /** COPY of the same records in the shape before migration 0012 (jsonb), for comparison. */
  jsonbCopySeconds: number;
  againRows: number;
  againSeconds: number;
  unchanged: number;
  /** entra_sign_in (every partition, every index, TOAST) per row. */
  storedBytesPerRow: number;
  copyBytesPerRow: number;
  jsonbCopyBytesPerRow: number;
}

export async function measureIngest(total: number, log: (line: string) => void = console.log): Promise<IngestMeasurement> {
  const scratch = process.env['DATABASE_URL'] ? undefined : await createTestDatabase('accesstrail_bench');
  const url = process.env['DATABASE_URL'] ?? scratch!.url;
  const store = await openStore({ databaseUrl: url, poolSize: 2 });
  const sampleBytes = JSON.stringify(signIn(1).raw).length;
  log(
    `store-ingest: ${total.toLocaleString('en')} sign-in rows (raw record ≈ ${sampleBytes} bytes), ${batchRows} rows per statement, engine ${store.engine}`,
  );
  try {
    await store.db
      .insertInto('source')
      .values({ id: 'entra:bench', kind: 'entra', display_name: 'bench', settings: '{}' })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const repo = createEvidenceRepository(store.db);

    // 1. Through the repository.
    let t0 = performance.now();
    for (let offset = 0; offset < total; offset += callRows) {
      const rows = Array.from({ length: Math.min(callRows, total - offset) }, (_, k) => signIn(offset + k));
      await repo.writeEvents('entra_sign_in', 'entra:bench', rows, { batchRows });
    }
    const repoSeconds = (performance.now() - t0) / 1000;

    // 2. Plain COPY of the same rows into a scratch table of the same shape: the columns of
    //    entra_sign_in (LIKE), its primary key, no partitions and no other index; each row
    //    exactly as the repository stores it (the same normalised columns, packed record and
    //    hash: storedEventRows), built while COPY streams.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('drop table if exists bench_copy_sign_in');
    await client.query(
      'create table bench_copy_sign_in (like entra_sign_in including defaults, primary key (source_id, occurred_at, upstream_id))',
    );
    const copyColumns = storedEventRows('entra_sign_in', 'entra:bench', 0, [signIn(0)]).columns;
    t0 = performance.now();
    async function* storedLines() {
      for (let offset = 0; offset < total; offset += batchRows) {
        const rows = Array.from({ length: Math.min(batchRows, total - offset) }, (_, k) => signIn(offset + k));
        yield storedEventRows('entra_sign_in', 'entra:bench', 0, rows).text;
      }
    }
    await pipeline(Readable.from(storedLines()), client.query(copyFrom(`copy bench_copy_sign_in (${copyColumns.join(', ')}) from stdin`)));
    const copySeconds = (performance.now() - t0) / 1000;

    // 2b. For comparison, the shape before migration 0012: every column, the record as jsonb.
    await client.query('drop table if exists bench_copy_sign_in_jsonb');
    await client.query(`create table bench_copy_sign_in_jsonb (
      source_id text, upstream_id text, occurred_at timestamptz, user_id text, user_principal_name text, app_id text, ip_address text,
      error_code integer, is_interactive boolean, event_types text[], authentication_requirement text, risk_level_during_sign_in text, risk_state text,
      conditional_access_status text, correlation_id text, graph_version text, raw jsonb, primary key (source_id, occurred_at, upstream_id))`);
    t0 = performance.now();
    async function* jsonbLines() {
      for (let offset = 0; offset < total; offset += batchRows) {
        let chunk = '';
        for (let i = offset; i < Math.min(offset + batchRows, total); i++) {
          const row = { ...signIn(i), source_id: 'entra:bench' } as Record<string, unknown>;
          chunk += jsonbColumns.map((column) => copyText(row[column])).join('\t') + '\n';
        }
        yield chunk;
      }
    }
    await pipeline(
      Readable.from(jsonbLines()),
      client.query(copyFrom(`copy bench_copy_sign_in_jsonb (${jsonbColumns.join(', ')}) from stdin`)),
    );
    const jsonbCopySeconds = (performance.now() - t0) / 1000;

    // 3. Idempotence at scale: the same rows again change nothing.
    t0 = performance.now();
    let unchanged = 0;
    const again = Math.min(total, 100_000);
    for (let offset = 0; offset < again; offset += callRows) {
      const rows = Array.from({ length: Math.min(callRows, again - offset) }, (_, k) => signIn(offset + k));
      unchanged += (await repo.writeEvents('entra_sign_in', 'entra:bench', rows, { batchRows })).unchanged;
    }
    const againSeconds = (performance.now() - t0) / 1000;
    await client.end();

    const { rows: sizes } = await sql<{ stored: string; copied: string; jsonb: string }>`
      select (select sum(pg_total_relation_size(p.relid)) from pg_partition_tree('entra_sign_in'::regclass) p where p.isleaf) as stored,
             pg_total_relation_size('bench_copy_sign_in') as copied, pg_total_relation_size('bench_copy_sign_in_jsonb') as jsonb`.execute(
      store.db,
    );
    // Where the bytes are: the heap (with TOAST) and each index, over every partition.
    const { rows: parts } = await sql<{ name: string; bytes: string }>`
      select 'heap + TOAST' as name, sum(pg_table_size(p.relid)) as bytes
      from pg_partition_tree('entra_sign_in'::regclass) p where p.isleaf
      union all
      select coalesce(pi.inhparent::regclass::text, x.indexrelid::regclass::text), sum(pg_relation_size(x.indexrelid))
      from pg_partition_tree('entra_sign_in'::regclass) p
      join pg_index x on x.indrelid = p.relid
      left join pg_inherits pi on pi.inhrelid = x.indexrelid
      where p.isleaf
      group by 1`.execute(store.db);
    const breakdown = parts.map((p) => `${p.name} ${Math.round(Number(p.bytes) / total)}`).join(', ');
    const storedBytesPerRow = Number(sizes[0]!.stored) / total;
    const copyBytesPerRow = Number(sizes[0]!.copied) / total;
    const jsonbCopyBytesPerRow = Number(sizes[0]!.jsonb) / total;
    const repoRate = total / repoSeconds;
    const copyRate = total / copySeconds;
    log(`repository upsert : ${repoSeconds.toFixed(1)} s  ${Math.round(repoRate).toLocaleString('en')} rows/s`);
    log(`plain COPY        : ${copySeconds.toFixed(1)} s  ${Math.round(copyRate).toLocaleString('en')} rows/s (the same rows as stored)`);
    log(`ratio             : ${(repoRate / copyRate).toFixed(2)}× COPY's throughput (aim ≥ 0.8)`);
    log(
      `COPY, jsonb shape : ${jsonbCopySeconds.toFixed(1)} s  ${Math.round(total / jsonbCopySeconds).toLocaleString('en')} rows/s (the shape before 0012, for comparison)`,
    );
    log(
      `stored per row    : ${Math.round(storedBytesPerRow)} bytes, all indexes included (aim ≤ 1024); the COPY table: ${Math.round(copyBytesPerRow)} bytes; jsonb shape: ${Math.round(jsonbCopyBytesPerRow)} bytes`,
    );
    log(`bytes per row by relation (every partition): ${breakdown}`);
    log(
      `re-write ${again.toLocaleString('en')} unchanged rows: ${againSeconds.toFixed(1)} s, ${unchanged.toLocaleString('en')} left unchanged`,
    );
    log(`peak RSS          : ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
    return {
      rows: total,
      repoSeconds,
      copySeconds,
      jsonbCopySeconds,
      againRows: again,
      againSeconds,
      unchanged,
      storedBytesPerRow,
      copyBytesPerRow,
      jsonbCopyBytesPerRow,
    };
  } finally {
    await store.close();
    await scratch?.drop();
  }
}

/** A Metabase query_execution row as the collector maps it (mapQueryExecution: the
 *  application database's columns through plainRow), like the correlation benchmark's. */
export function queryExecution(i: number): EventRecord {
  const at = new Date(start + i * 1_400).toISOString();
  const card = 1 + (i % 4000);
  const native = i % 10 === 0;
  const context = i % 33 === 0 ? 'pulse' : i % 2 === 0 ? 'question' : i % 7 < 5 ? 'dashboard' : 'ad-hoc';
  const raw = {
    id: i,
    hash: createHash('sha256').update(`h${card}`).digest('hex'),
    started_at: at,
    running_time: (i * 37) % 9000,
    result_rows: (i * 13) % 5000,
    native,
    context,
    error: i % 200 === 0 ? 'Query timed out' : null,
    executor_id: 1 + (i % 20000),
    card_id: card,
    dashboard_id: i % 3 === 0 ? 1 + (i % 600) : null,
    pulse_id: null,
    database_id: 2,
    cache_hit: false,
    action_id: null,
    is_sandboxed: false,
    cache_hash: null,
    embedding_client: null,
    embedding_version: null,
    parameterized: false,
    auth_method: 'saml',
  };
  return {
    upstream_id: String(i),
    occurred_at: new Date(at),
    raw,
    executor_id: raw.executor_id,
    context,
    card_id: card,
    dashboard_id: raw.dashboard_id,
    database_id: 2,
    native,
    result_rows: raw.result_rows,
    running_time_ms: raw.running_time,
    has_error: raw.error !== null,
    auth_method: 'saml',
    ip_address: null,
  };
}

/** Bytes per stored query execution (every partition and index) through the repository,
 *  beside the same records in the shape before migration 0012 (a table LIKE it, with its
 *  indexes, every column filled and the record as jsonb). */
export async function measureQueryBytes(
  total: number,
  log: (line: string) => void = console.log,
): Promise<{ stored: number; jsonb: number }> {
  const scratch = process.env['DATABASE_URL'] ? undefined : await createTestDatabase('accesstrail_bench');
  const url = process.env['DATABASE_URL'] ?? scratch!.url;
  const store = await openStore({ databaseUrl: url, poolSize: 2 });
  try {
    await store.db
      .insertInto('source')
      .values({ id: 'metabase:bench', kind: 'metabase', display_name: 'bench', settings: '{}' })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const repo = createEvidenceRepository(store.db);
    for (let offset = 0; offset < total; offset += callRows) {
      const rows = Array.from({ length: Math.min(callRows, total - offset) }, (_, k) => queryExecution(offset + k));
      await repo.writeEvents('metabase_query_execution', 'metabase:bench', rows, { batchRows });
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('create table bench_query_jsonb (like metabase_query_execution including all)');
    const columns = [
      'source_id',
      'upstream_id',
      'occurred_at',
      ...eventTables.metabase_query_execution.columns.map((c) => c.name),
      'batch_id',
      'record_sha256',
      'raw',
    ];
    async function* lines() {
      for (let offset = 0; offset < total; offset += batchRows) {
        let chunk = '';
        for (let i = offset; i < Math.min(offset + batchRows, total); i++) {
          const row = { ...queryExecution(i), source_id: 'metabase:bench', batch_id: 0, record_sha256: '0'.repeat(64) } as Record<
            string,
            unknown
          >;
          chunk += columns.map((column) => copyText(row[column])).join('\t') + '\n';
        }
        yield chunk;
      }
    }
    await pipeline(Readable.from(lines()), client.query(copyFrom(`copy bench_query_jsonb (${columns.join(', ')}) from stdin`)));
    await client.end();
    const { rows: sizes } = await sql<{ stored: string; jsonb: string }>`
      select (select sum(pg_total_relation_size(p.relid)) from pg_partition_tree('metabase_query_execution'::regclass) p where p.isleaf) as stored,
             pg_total_relation_size('bench_query_jsonb') as jsonb`.execute(store.db);
    const stored = Number(sizes[0]!.stored) / total;
    const jsonb = Number(sizes[0]!.jsonb) / total;
    log(
      `query executions  : ${total.toLocaleString('en')} rows (record ≈ ${JSON.stringify(queryExecution(1).raw).length} bytes): ${Math.round(stored)} bytes per row stored, all indexes included; ${Math.round(jsonb)} bytes in the shape before 0012`,
    );
    return { stored, jsonb };
  } finally {
    await store.close();
    await scratch?.drop();
  }
}

const ROWS = { quick: 10_000, '10k': 10_000, '100k': 100_000, '1m': 1_000_000 } as const;

export const benchmark: Benchmark = {
  name: 'store-ingest',
  description: 'sign-ins through the evidence repository against a plain COPY of the same rows; bytes stored per sign-in',
  sizes: ['quick', '10k', '100k', '1m'],
  async run({ size }) {
    const m = await measureIngest(ROWS[size], () => undefined);
    return [
      {
        stage: 'ingest (evidence repository)',
        size: `${m.rows.toLocaleString('en')} sign-ins`,
        throughput: { value: m.rows / m.repoSeconds, unit: 'sign-ins/s' },
        seconds: m.repoSeconds,
        reference: { name: 'plain COPY', seconds: m.copySeconds },
        note: `${(m.copySeconds / m.repoSeconds).toFixed(2)}× COPY's throughput; ${Math.round(m.storedBytesPerRow)} B stored per sign-in (COPY table ${Math.round(m.copyBytesPerRow)} B; jsonb shape ${Math.round(m.jsonbCopyBytesPerRow)} B, COPY ${m.jsonbCopySeconds.toFixed(1)} s); ${m.againRows.toLocaleString('en')} unchanged re-written in ${m.againSeconds.toFixed(1)} s`,
      },
    ];
  },
};

if (isMain(import.meta.url)) {
  if (process.argv.includes('--queries')) await measureQueryBytes(arg('queries', 100_000));
  else await measureIngest(arg('rows', 1_000_000));
}
