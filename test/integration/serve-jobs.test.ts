// `serve` as real processes sharing one Postgres store: two of them collect each source
// once; one killed with SIGKILL in the middle of a collection is resumed by the next one
// to start, which ends with the same evidence as an uninterrupted run (table digests).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { sampleDataset } from '../../src/emulators/entra/sample.js';
import {
  type EmbeddedMetabaseDatabase,
  generateMetabaseDataset,
  startEmbeddedMetabaseDatabase,
} from '../../src/emulators/metabase/index.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { openStore, type Store } from '../../src/store/database.js';
import { storedRaw } from '../../src/store/record-codec.js';
import { entraSourceId, streams } from '../../src/store/streams.js';
import { entraEnv, waitFor } from '../jobs/support.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';

const T = new Date(Math.floor(Date.now() / 1000) * 1000);
const bin = path.resolve('bin/accesstrail.js');

interface Serve {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function serve(env: Record<string, string>): Serve {
  const cwd = mkdtempSync(path.join(tmpdir(), 'serve-jobs-'));
  const child = spawn(process.execPath, [bin, 'serve'], {
    cwd,
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      ACCESSTRAIL_DATA_DIR: path.join(cwd, 'data'),
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

async function stop(process: Serve) {
  if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGTERM');
  return process.exited;
}

/** sha256 per table of what the store holds for a source (ids, raw records, revisions; latest present state). */
async function digests(store: Store, sourceId: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of ['entra_sign_in', 'entra_directory_audit']) {
    const { rows: stored } = await sql<
      Record<string, unknown>
    >`select * from ${sql.table(table)} where source_id = ${sourceId} order by upstream_id`.execute(store.db);
    // The record through the store's decoder (packed or not, migration 0012).
    const rows = stored.map((r) => ({ upstream_id: r['upstream_id'], raw: storedRaw(r), revision: r['revision'] }));
    out[table] = `${rows.length}:${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
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
    out[table] = `${rows.length}:${createHash('sha256').update(JSON.stringify(rows)).digest('hex')}`;
  }
  return out;
}

async function finishedRuns(store: Store) {
  return store.db
    .selectFrom('collection_run')
    .select(['id', 'status', 'summary', 'error', 'requested'])
    .where('status', '!=', 'running')
    .orderBy('id')
    .execute();
}

const outcomesOf = (runs: Awaited<ReturnType<typeof finishedRuns>>) =>
  runs.flatMap((run) =>
    ((run.summary as { outcomes?: { kind: string; status: string }[] }).outcomes ?? [])
      .filter((o) => o.status !== 'skipped')
      .map((o) => `${o.kind} ${o.status}`),
  );

describe.runIf(await postgresAvailable())('serve processes sharing one store', () => {
  let emulator: EntraEmulator;
  let metabase: EmbeddedMetabaseDatabase;
  let caFile: string;
  const databases: TestDatabase[] = [];
  const envFor = (database: TestDatabase, extra: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    NODE_EXTRA_CA_CERTS: caFile,
    ...entraEnv(emulator),
    ENTRA_REPORTING_REQUESTS_PER_10S: '1000',
    // Yearly: only the collection at start runs during the test.
    ACCESSTRAIL_COLLECT_SCHEDULE: '0 0 1 1 *',
    ACCESSTRAIL_LOG_LEVEL: 'info',
    ...extra,
  });

  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: T, days: 3, signIns: 80 }), maxPageSize: 4 });
    metabase = await startEmbeddedMetabaseDatabase({
      version: 60,
      dataset: generateMetabaseDataset({ start: new Date(T.getTime() - 3 * 86_400_000), days: 3, users: 5 }),
    });
    caFile = path.join(mkdtempSync(path.join(tmpdir(), 'serve-jobs-ca-')), 'emulator-ca.pem');
    writeFileSync(caFile, emulator.caCertificatePem);
  });
  afterAll(async () => {
    await emulator?.close();
    await metabase?.close();
    for (const database of databases) await database.drop();
  });

  it('two serve processes on one store collect each source once', async () => {
    const database = await createTestDatabase();
    databases.push(database);
    const env = envFor(database, { METABASE_DB_URL: metabase.url });
    const processes = [serve(env), serve(env)];
    const store = await openStore({ databaseUrl: database.url, poolSize: 2 });
    try {
      await waitFor('both processes listening', async () => processes.every((p) => p.stderr().includes('listening on')), 180_000).catch(
        (error: unknown) => {
          throw new Error(`${(error as Error).message}: ${processes.map((p) => p.stderr().slice(-1500)).join('\n---\n')}`);
        },
      );
      await waitFor(
        'a collection of each source and a correlation',
        async () => {
          const runs = await finishedRuns(store);
          const correlated = await store.db.selectFrom('correlation_run').select('id').where('status', '=', 'succeeded').execute();
          return outcomesOf(runs).length >= 2 && correlated.length >= 1;
        },
        120_000,
      );
      // Both processes are up and polling; give a duplicate every chance to show.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const runs = await finishedRuns(store);
      expect(outcomesOf(runs).sort()).toEqual(['entra succeeded', 'metabase succeeded']);
      expect(await store.db.selectFrom('collection_run').select('id').where('status', '=', 'running').execute()).toEqual([]);
    } finally {
      await store.close();
      const exits = await Promise.all(processes.map(stop));
      expect(
        exits.map((e) => e.code),
        processes.map((p) => p.stderr().slice(-3000)).join('\n---\n'),
      ).toEqual([0, 0]);
    }
  }, 300_000);

  it('a serve killed with SIGKILL mid-collection is resumed by the next start, ending with the evidence of an uninterrupted run', async () => {
    const [cleanDb, killedDb] = [await createTestDatabase(), await createTestDatabase()];
    databases.push(cleanDb, killedDb);
    const sourceId = entraSourceId(emulator.tenantId);

    // Uninterrupted.
    const clean = serve(envFor(cleanDb));
    const cleanStore = await openStore({ databaseUrl: cleanDb.url, poolSize: 2 });
    await waitFor(
      'the clean collection',
      async () =>
        (await finishedRuns(cleanStore)).length === 1 &&
        (await cleanStore.db.selectFrom('correlation_run').select('id').execute()).length === 1,
      120_000,
    );
    await stop(clean);

    // Killed after a few pages of sign-ins.
    let pages = 0;
    const killed = serve(envFor(killedDb));
    emulator.onRequest = ({ path: p }) => {
      if (p === 'auditLogs/signIns' && ++pages === 6) killed.child.kill('SIGKILL');
    };
    const exit = await killed.exited;
    emulator.onRequest = undefined;
    expect(exit.signal).toBe('SIGKILL');
    const store = await openStore({ databaseUrl: killedDb.url, poolSize: 2 });
    try {
      const left = await store.db.selectFrom('collection_run').select(['id', 'status']).execute();
      expect(left).toEqual([{ id: expect.any(Number), status: 'running' }]);
      const coverage = await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns);
      expect(coverage.every((range) => range.to.getTime() < Date.now() - 1000)).toBe(true);

      // The next start finishes the cut-off run as failed (interrupted) and resumes it.
      const restarted = serve(envFor(killedDb));
      try {
        await waitFor(
          'the resumed collection',
          async () => {
            const runs = await finishedRuns(store);
            return (
              runs.length === 2 &&
              (await store.db.selectFrom('correlation_run').select('id').where('status', '=', 'succeeded').execute()).length >= 1
            );
          },
          120_000,
        );
        const runs = await finishedRuns(store);
        expect(runs[0]).toMatchObject({ id: left[0]!.id, status: 'failed', error: expect.stringContaining('interrupted') });
        expect(runs[1]).toMatchObject({ status: 'succeeded', requested: { requestedBy: `scheduler (resumes run ${left[0]!.id})` } });
        expect(restarted.stderr()).toContain('resuming it');
        expect(await digests(store, sourceId)).toEqual(await digests(cleanStore, sourceId));
        // What was covered is one contiguous range: the resumed run started at the checkpoint.
        const merged = await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns);
        expect(merged).toHaveLength(1);
      } finally {
        expect((await stop(restarted)).code).toBe(0);
      }
    } finally {
      await store.close();
      await cleanStore.close();
    }
  }, 400_000);
});
