// Running the Entra collector against the emulator in tests, and a digest of what it
// stored: shared by the window tests and the Entra fault tests.
import { createHash, randomBytes } from 'node:crypto';

import { sql } from 'kysely';
import pg from 'pg';

import { collectEntra, type EntraTuning } from '../../src/collectors/entra/index.js';
import { type CollectContext, silentProgress, type SourceSummary } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import type { EntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
} from '../../src/emulators/entra/sample.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { openStore, type Store } from '../../src/store/database.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { streams } from '../../src/store/streams.js';
import { createTestDatabase, serverUrl } from './database.js';

/** Pacing off and retries scaled down so a test takes seconds. */
export const fastTuning = (emulator: EntraEmulator, extra: EntraTuning = {}): EntraTuning => ({
  tlsCa: emulator.caCertificatePem,
  reportingLimit: null,
  retry: { baseDelayMs: 5, maxDelayMs: 50, maxElapsedMs: 20_000, maxAttempts: 8 },
  requestTimeoutMs: 5_000,
  ...extra,
});

export function entraConfig(emulator: EntraEmulator, overrides: Record<string, string> = {}) {
  return parseConfig({
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
    AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    GRAPH_BASE_URL: emulator.graphBaseUrl,
    ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
    ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
    ...overrides,
  });
}

export async function collectFrom(
  store: Store,
  emulator: EntraEmulator,
  options: { now: Date; since?: Date; tuning?: EntraTuning; env?: Record<string, string>; signal?: AbortSignal },
): Promise<SourceSummary> {
  const collection = createCollectionRepository(store.db);
  const runId = await collection.startRun('collect', {});
  const context: CollectContext = {
    store,
    evidence: createEvidenceRepository(store.db),
    collection,
    config: entraConfig(emulator, options.env),
    logger: createLogger({ level: 'silent' }),
    runId,
    progress: silentProgress,
    now: () => options.now,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return collectEntra(context, { ...(options.since ? { since: options.since } : {}), entra: options.tuning ?? fastTuning(emulator) });
}

export const entraEventTables = ['entra_sign_in', 'entra_directory_audit'] as const;
export const entraStateTables = [
  'entra_user_version',
  'entra_group_version',
  'entra_group_member_version',
  'entra_application_version',
  'entra_credential_version',
  'entra_app_role_assignment_version',
] as const;

export interface EvidenceDigest {
  /** Per table: row count and SHA-256 over the sorted (key, revision/presence, record hash). */
  tables: Record<string, { rows: number; sha256: string }>;
  /** Archived revisions (a record stored twice with different content would add one). */
  revisions: number;
  coverage: Record<string, [string, string][]>;
}

/** What the store holds for a source, by the evidence rows' own hashes: two stores with
 *  the same digest hold the same records, each once, with the same revisions. */
export async function evidenceDigest(store: Store, sourceId: string): Promise<EvidenceDigest> {
  const tables: EvidenceDigest['tables'] = {};
  for (const table of entraEventTables) {
    const { rows } = await sql<{ line: string }>`
      select upstream_id || '|' || revision || '|' || record_sha256 as line from ${sql.table(table)}
      where source_id = ${sourceId} order by upstream_id, revision`.execute(store.db);
    tables[table] = {
      rows: rows.length,
      sha256: createHash('sha256')
        .update(rows.map((r) => r.line).join('\n'))
        .digest('hex'),
    };
  }
  for (const table of entraStateTables) {
    const { rows } = await sql<{ line: string }>`
      select upstream_id || '|' || present || '|' || record_sha256 as line from ${sql.table(table)}
      where source_id = ${sourceId} order by upstream_id, record_sha256, present`.execute(store.db);
    tables[table] = {
      rows: rows.length,
      sha256: createHash('sha256')
        .update(rows.map((r) => r.line).join('\n'))
        .digest('hex'),
    };
  }
  const { rows: revisionRows } = await sql<{
    n: number;
  }>`select count(*)::int as n from evidence_revision where source_id = ${sourceId}`.execute(store.db);
  const collection = createCollectionRepository(store.db);
  const coverage: EvidenceDigest['coverage'] = {};
  for (const stream of [streams.entraSignIns, streams.entraDirectoryAudits]) {
    coverage[stream] = (await collection.coverageOf(sourceId, stream)).map((r) => [r.from.toISOString(), r.to.toISOString()]);
  }
  return { tables, revisions: revisionRows[0]!.n, coverage };
}

/** The coverage_window rows of a stream, in order, with their widths and page details. */
export async function coverageRows(store: Store, sourceId: string, stream: string) {
  const rows = await store.db
    .selectFrom('coverage_window')
    .select(['covered_from', 'covered_to', 'detail'])
    .where('source_id', '=', sourceId)
    .where('stream', '=', stream)
    .orderBy('covered_from')
    .execute();
  return rows.map((row) => {
    const from = new Date(row.covered_from);
    const to = new Date(row.covered_to);
    const detail = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as { pages: number; records: number };
    return { from, to, widthMs: to.getTime() - from.getTime(), pages: detail.pages, records: detail.records };
  });
}

/** Empty, migrated stores made fast: the migrations run once into a template database,
 *  and each store is a copy of it (CREATE DATABASE … TEMPLATE), so a test can afford a
 *  fresh store per run. */
export async function storeFactory(): Promise<{ fresh(): Promise<Store & { dispose(): Promise<void> }>; dispose(): Promise<void> }> {
  const template = await createTestDatabase('accesstrail_entra_tpl');
  const migrated = await openStore({ databaseUrl: template.url, poolSize: 1 });
  await migrated.close();
  const templateName = new URL(template.url).pathname.slice(1);
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: serverUrl() });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  return {
    async fresh() {
      const name = `accesstrail_entra_${randomBytes(6).toString('hex')}`;
      await admin(`create database ${name} template ${templateName}`);
      const url = new URL(serverUrl());
      url.pathname = `/${name}`;
      const store = await openStore({ databaseUrl: url.toString(), poolSize: 4 });
      return Object.assign(store, {
        async dispose() {
          await store.close();
          await admin(`drop database if exists ${name} with (force)`);
        },
      });
    },
    dispose: () => template.drop(),
  };
}
