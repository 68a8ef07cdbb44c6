// `accesstrail collect --source entra` as a real process against the emulator: trust via
// NODE_EXTRA_CA_CERTS (the production path, no in-process CA), a one-line failure with
// exit 1, and a SIGKILL mid-run followed by a rerun that ends where a clean run ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
  sampleDataset,
} from '../../src/emulators/entra/sample.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { openStore, type Store } from '../../src/store/database.js';
import { storedRaw } from '../../src/store/record-codec.js';
import { entraSourceId, streams } from '../../src/store/streams.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';

const T = new Date(Math.floor(Date.now() / 1000) * 1000);
const SINCE = new Date(T.getTime() - 3 * 86_400_000).toISOString();

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>, onStart?: (child: ChildProcess) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/accesstrail.js', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
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

async function evidence(store: Store, sourceId: string) {
  const out: Record<string, unknown> = {};
  for (const table of ['entra_sign_in', 'entra_directory_audit']) {
    const { rows } = await sql<
      Record<string, unknown>
    >`select * from ${sql.table(table)} where source_id = ${sourceId} order by upstream_id`.execute(store.db);
    // The record through the store's decoder (packed or not, migration 0012).
    out[table] = rows.map((r) => ({ upstream_id: r['upstream_id'], raw: storedRaw(r), revision: r['revision'] }));
  }
  for (const table of [
    'entra_user_version',
    'entra_group_version',
    'entra_group_member_version',
    'entra_application_version',
    'entra_credential_version',
    'entra_app_role_assignment_version',
  ]) {
    const { rows } = await sql`select * from (select distinct on (upstream_id) upstream_id, present, raw from ${sql.table(table)}
      where source_id = ${sourceId} order by upstream_id, observed_at desc) v where present order by upstream_id`.execute(store.db);
    out[table] = rows;
  }
  return out;
}

describe.runIf(await postgresAvailable())('accesstrail collect --source entra (process)', () => {
  let emulator: EntraEmulator;
  let caFile: string;
  const databases: TestDatabase[] = [];

  const env = (databaseUrl: string, overrides: Record<string, string> = {}) => ({
    DATABASE_URL: databaseUrl,
    NODE_EXTRA_CA_CERTS: caFile,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
    AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    GRAPH_BASE_URL: emulator.graphBaseUrl,
    ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
    ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
    ENTRA_REPORTING_REQUESTS_PER_10S: '1000',
    ACCESSTRAIL_LOG_LEVEL: 'warn',
    ...overrides,
  });

  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: T, days: 2, signIns: 50 }), maxPageSize: 4 });
    caFile = path.join(mkdtempSync(path.join(tmpdir(), 'entra-ca-')), 'emulator-ca.pem');
    writeFileSync(caFile, emulator.caCertificatePem);
  });
  afterAll(async () => {
    await emulator?.close();
    for (const database of databases) await database.drop();
  });

  it('a wrong secret stops with one clear line and exit 1, storing nothing', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const outcome = await run(
      ['collect', '--source', 'entra', '--since', SINCE, '--no-correlate'],
      env(database.url, { AZURE_CLIENT_SECRET: 'not-the-secret' }),
    );
    expect(outcome.code).toBe(1);
    const lines = outcome.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^accesstrail: Entra refused the collector's credential: AADSTS7000215: Invalid client secret provided/);
    expect(outcome.stderr).not.toContain('not-the-secret');
    const store = await openStore({ databaseUrl: database.url });
    try {
      const { rows } = await sql<{
        n: number;
      }>`select (select count(*) from entra_sign_in) + (select count(*) from coverage_window) + (select count(*) from entra_user_version) as n`.execute(
        store.db,
      );
      expect(Number(rows[0]!.n)).toBe(0);
      const run = await store.db.selectFrom('collection_run').select(['status']).executeTakeFirstOrThrow();
      expect(run.status).toBe('failed');
    } finally {
      await store.close();
    }
  });

  it('killed with SIGKILL mid-run, then rerun, ends with the same evidence as a clean run', async () => {
    const [cleanDb, killedDb] = [await createTestDatabase(), await createTestDatabase()];
    databases.push(cleanDb, killedDb);
    const args = ['collect', '--source', 'entra', '--since', SINCE, '--no-correlate'];
    const clean = await run(args, env(cleanDb.url));
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/entra-sign-ins: 50 records \(50 new/);

    let pages = 0;
    const killed = await run(args, env(killedDb.url), (child) => {
      emulator.onRequest = ({ path: p }) => {
        if (p === 'auditLogs/signIns' && ++pages === 6) child.kill('SIGKILL');
      };
    });
    emulator.onRequest = undefined;
    expect(killed.signal).toBe('SIGKILL');

    const store = await openStore({ databaseUrl: killedDb.url });
    const sourceId = entraSourceId(emulator.tenantId);
    try {
      const coverage = await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns);
      expect(coverage.every((range) => range.to.getTime() < T.getTime())).toBe(true);
      const rerun = await run(args, env(killedDb.url));
      expect(rerun.code).toBe(0);
      const cleanStore = await openStore({ databaseUrl: cleanDb.url });
      try {
        expect(await evidence(store, sourceId)).toEqual(await evidence(cleanStore, sourceId));
      } finally {
        await cleanStore.close();
      }
    } finally {
      await store.close();
    }
  });
});
