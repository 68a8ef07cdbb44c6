// An archive run killed with SIGKILL at each point between its steps (the file being
// written, checked, published; inside the drop transaction after DETACH and after DROP;
// after the commit) loses nothing: every row of every partition past the horizon is,
// at every moment, either still in the store or in an archive file the store records,
// and the chain verifies. The next run finishes the work cleanly. Real Postgres, a real
// process killed by the kernel.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Config, parseConfig } from '../../src/config.js';
import { runEvidenceArchive } from '../../src/jobs/evidence-retention.js';
import { createLogger } from '../../src/logger.js';
import { type ArchiveStep } from '../../src/store/archive.js';
import { verifyChain } from '../../src/store/chain.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, postgresAvailable, type TestStore } from '../support/database.js';
import { signInRecord } from '../support/factories.js';

const NOW = '2027-03-10T12:00:00Z';
const SOURCE = 'entra:crash';
const script = path.resolve('test/support/archive-crash.ts');
const OLD_MONTHS = ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06'];

function runKilledAt(url: string, dataDir: string, step: ArchiveStep): Promise<{ signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, url, dataDir, NOW, step], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ signal, output }));
  });
}

describe.runIf(await postgresAvailable())('an archive run killed at any step', () => {
  let store: TestStore;
  let config: Config;
  let dataDir: string;
  let original: string[];

  /** Every row of the old months, whether in the store or in a recorded archive file. */
  async function everyRow(): Promise<string[]> {
    const live = (
      await sql<{ line: string }>`
        select to_jsonb(t)::text as line from entra_sign_in t where occurred_at < '2024-07-01'`.execute(store.db)
    ).rows.map((r) => r.line);
    const archives = await store.db.selectFrom('evidence_archive').select('file_name').where('restored_at', 'is', null).execute();
    const archived = archives.flatMap((a) =>
      gunzipSync(readFileSync(path.join(config.archiveDir, a.file_name)))
        .toString('utf8')
        .trimEnd()
        .split('\n')
        .filter((line) => line !== ''),
    );
    return [...live, ...archived].sort();
  }

  beforeAll(async () => {
    store = await openTestStore('postgres');
    dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-archive-crash-'));
    config = parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '12' }, dataDir);
    await store.db.insertInto('source').values({ id: SOURCE, kind: 'entra', display_name: 'C', settings: '{}' }).execute();
    const evidence = createEvidenceRepository(store.db);
    const records = OLD_MONTHS.flatMap((month, m) =>
      Array.from({ length: 40 }, (_, i) =>
        signInRecord({ id: `s-${m}-${i}`, at: `${month}-${String((i % 27) + 1).padStart(2, '0')}T0${i % 10}:00:00Z` }),
      ),
    );
    await evidence.writeEvents('entra_sign_in', SOURCE, records, { batchRows: 25 });
    original = await everyRow();
    expect(original).toHaveLength(240);
  });
  afterAll(async () => {
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const steps: ArchiveStep[] = ['file-written', 'file-checked', 'file-published', 'recorded', 'detached', 'dropped', 'committed'];
  it.each(steps)('killed at %s: nothing is lost and the chain verifies', async (step) => {
    const killed = await runKilledAt(store.url!, dataDir, step);
    expect(killed.output).not.toContain('finished without reaching the step');
    expect(killed.signal).toBe('SIGKILL');
    expect(await everyRow()).toEqual(original);
    expect((await verifyChain(store.db, { archiveDir: config.archiveDir })).intact).toBe(true);
  });

  it('the next run finishes cleanly: every old month archived once, nothing lost, no partial file left', async () => {
    const outcome = (await runEvidenceArchive({ store, config, logger: createLogger({ level: 'silent' }), now: () => new Date(NOW) }))!;
    expect(outcome.deferred).toEqual([]);
    const archives = await store.db.selectFrom('evidence_archive').select(['partition_name', 'file_name']).orderBy('month_from').execute();
    expect(archives.map((a) => a.partition_name)).toEqual(OLD_MONTHS.map((m) => `entra_sign_in_${m.replace('-', '_')}`));
    expect(archives.map((a) => a.file_name.replace(/^.*\.(\d+)\.ndjson\.gz$/, '$1'))).toEqual(OLD_MONTHS.map(() => '1'));
    expect(await everyRow()).toEqual(original);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from entra_sign_in where occurred_at < '2024-07-01'`.execute(
      store.db,
    );
    expect(rows[0]!.n).toBe(0);
    expect(readdirSync(config.archiveDir).filter((name) => name.endsWith('.partial'))).toEqual([]);
    const verified = await verifyChain(store.db, { archiveDir: config.archiveDir });
    expect(verified).toMatchObject({ intact: true, archived: { archives: 6, filesChecked: 6, unverifiedBatches: 0 } });
    expect(verified.archived!.rows).toBe(240);
  });
});
