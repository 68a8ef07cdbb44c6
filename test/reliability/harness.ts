// Shared by the reliability tests and bench/crash-soak.ts: both sources as real upstreams
// (the Entra emulator over HTTPS, a Metabase v60 application database on the local
// Postgres), `accesstrail` as a real process, and a digest of every evidence table that
// leaves out what legitimately differs between two runs (batch ids, observation times,
// run ids) and keeps everything else, duplicates included.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type Kysely, sql } from 'kysely';

import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
  sampleDataset,
} from '../../src/emulators/entra/sample.js';
import { createMetabaseAppDatabase, generateMetabaseDataset } from '../../src/emulators/metabase/index.js';
import { seededRandom } from '../../src/emulators/seeded-random.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { storedRaw } from '../../src/store/record-codec.js';
import { canonicalRecordJson } from '../../src/store/record-hash.js';
import type { Database } from '../../src/store/schema.js';
import { allEvidenceTables } from '../../src/store/tables.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `accesstrail ARGS` as a process with exactly `env` (plus PATH and HOME). */
export function runCli(
  args: string[],
  env: Record<string, string>,
  onStart?: (child: ChildProcess) => void,
  cwd = REPO_ROOT,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/accesstrail.js'), ...args], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    onStart?.(child);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface Sizes {
  entraSignIns: number;
  entraAudits: number;
  entraUsers: number;
  metabaseUsers: number;
  metabaseDays: number;
  /** Graph page size: more pages, more places to be killed. */
  pageSize: number;
}

export const CI_SIZES: Sizes = { entraSignIns: 600, entraAudits: 120, entraUsers: 40, metabaseUsers: 12, metabaseDays: 6, pageSize: 60 };

export interface Upstreams {
  entra: EntraEmulator;
  metabaseDbUrl: string;
  /** The instant the sources' data ends at (collections use --until this). */
  until: Date;
  since: Date;
  env(databaseUrl: string, overrides?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

export async function startUpstreams(sizes: Sizes = CI_SIZES): Promise<Upstreams> {
  const until = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  const since = new Date(until.getTime() - (sizes.metabaseDays + 1) * 86_400_000);
  const entra = await startEntraEmulator({
    dataset: sampleDataset({
      now: until,
      days: 3,
      signIns: sizes.entraSignIns,
      directoryAudits: sizes.entraAudits,
      users: sizes.entraUsers,
    }),
    maxPageSize: sizes.pageSize,
  });
  const caFile = path.join(mkdtempSync(path.join(tmpdir(), 'reliability-ca-')), 'emulator-ca.pem');
  writeFileSync(caFile, entra.caCertificatePem);
  const metabase: TestDatabase = await createTestDatabase('mb_app');
  const dataset = generateMetabaseDataset({
    start: new Date(since.getTime() + 86_400_000),
    days: sizes.metabaseDays,
    users: sizes.metabaseUsers,
    seed: 12,
  });
  await createMetabaseAppDatabase({ url: metabase.url, version: 60, dataset });
  return {
    entra,
    metabaseDbUrl: metabase.url,
    until,
    since,
    env: (databaseUrl, overrides = {}) => ({
      DATABASE_URL: databaseUrl,
      NODE_EXTRA_CA_CERTS: caFile,
      AZURE_TENANT_ID: entra.tenantId,
      AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
      AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      GRAPH_BASE_URL: entra.graphBaseUrl,
      ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
      ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
      ENTRA_REPORTING_REQUESTS_PER_10S: '100000',
      METABASE_DB_URL: metabase.url,
      ACCESSTRAIL_LOG_LEVEL: 'warn',
      ...overrides,
    }),
    async close() {
      await entra.close();
      await metabase.drop();
    },
  };
}

export function collectArgs(upstreams: Upstreams): string[] {
  return [
    'collect',
    '--source',
    'all',
    '--since',
    upstreams.since.toISOString(),
    '--until',
    upstreams.until.toISOString(),
    '--no-correlate',
  ];
}

export interface Digest {
  /** sha256 per table of its rows in a fixed order. */
  tables: Record<string, string>;
  /** Row counts per table (to say what differs when a hash does). */
  counts: Record<string, number>;
}

/** What two stores holding the same evidence agree on, table by table: events by key,
 *  record hash and revision; state versions by key, presence and record hash (without
 *  their observation time, but every version counted, so a duplicate shows); archived
 *  revisions; quarantined records; and each stream's merged coverage end. */
export async function evidenceDigest(db: Kysely<Database>): Promise<Digest> {
  const tables: Record<string, string> = {};
  const counts: Record<string, number> = {};
  const put = (name: string, rows: unknown[]) => {
    tables[name] = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
    counts[name] = rows.length;
  };
  for (const spec of allEvidenceTables) {
    const query =
      spec.kind === 'event'
        ? sql`select source_id, upstream_id, occurred_at, record_sha256, revision, raw, ${sql.raw(spec.packed ? 'raw_packed' : 'null::bytea as raw_packed')} from ${sql.table(spec.name)} order by source_id, upstream_id, occurred_at`
        : sql`select source_id, upstream_id, present, record_sha256 from ${sql.table(spec.name)} order by source_id, upstream_id, record_sha256, present`;
    const { rows } = await query.execute(db);
    put(
      spec.name,
      rows.map((stored) => {
        // An event's record through the store's decoder (packed or not, migration 0012), as canonical JSON.
        const { raw_packed: _packed, ...row } = stored as Record<string, unknown>;
        if (spec.kind === 'event') row['raw'] = canonicalRecordJson(storedRaw(stored as Record<string, unknown>));
        return Object.values(row).map((v) => (v instanceof Date ? v.toISOString() : v));
      }),
    );
  }
  const revisions = await sql`select target_table, record_sha256 from evidence_revision order by target_table, record_sha256`.execute(db);
  put('evidence_revision', revisions.rows);
  const quarantine =
    await sql`select source_id, stream, upstream_id, reason from quarantined_record order by source_id, stream, upstream_id, reason`.execute(
      db,
    );
  put('quarantined_record', quarantine.rows);
  const streams = await sql<{
    source_id: string;
    stream: string;
  }>`select distinct source_id, stream from coverage_window order by source_id, stream`.execute(db);
  const coverage: unknown[] = [];
  for (const { source_id: sourceId, stream } of streams.rows) {
    const ranges = await createCollectionRepository(db).coverageOf(sourceId, stream);
    coverage.push([sourceId, stream, ranges.map((r) => [r.from.toISOString(), r.to.toISOString()])]);
  }
  put('coverage', coverage);
  return { tables, counts };
}

/** Seeded, so a kill point that fails can be replayed. */
export { seededRandom };
export const TEST_POSTGRES = { host: '127.0.0.1', port: 5432 };
