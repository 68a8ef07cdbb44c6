// The daily `archive` job (ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS), with the clock in the
// test's hand: scheduled at 03:30 UTC only when a retention is set; each run archives
// the months that have fallen past the horizon by then, and no others.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Config, parseConfig } from '../../src/config.js';
import { ARCHIVE_CRON, createJobSystem, JOB_SCHEMA, type JobSystem, QUEUES } from '../../src/jobs/system.js';
import { createLogger } from '../../src/logger.js';
import { verifyChain } from '../../src/store/chain.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { signInRecord } from '../support/factories.js';
import { jobCount, queuesIdle, waitFor } from './support.js';

const SOURCE = 'entra:archive-job';

describe('the archive job', () => {
  let store: TestStore;
  let config: Config;
  let jobs: JobSystem;
  let clock = new Date('2026-03-10T03:30:00Z');

  beforeAll(async () => {
    store = await openTestStore('postgres');
    const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-archive-job-'));
    config = parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '12' }, dataDir);
    await store.db.insertInto('source').values({ id: SOURCE, kind: 'entra', display_name: 'J', settings: '{}' }).execute();
    await createEvidenceRepository(store.db).writeEvents('entra_sign_in', SOURCE, [
      signInRecord({ id: 'jan', at: '2025-01-15T10:00:00Z' }),
      signInRecord({ id: 'aug', at: '2025-08-15T10:00:00Z' }),
    ]);
    jobs = createJobSystem({
      store,
      config,
      logger: createLogger({ level: 'silent' }),
      now: () => clock,
      pollingIntervalSeconds: 0.5,
      collectAtStart: false,
    });
    await jobs.start();
  });
  afterAll(async () => {
    await jobs?.stop();
    await store?.dispose();
    rmSync(config.dataDir, { recursive: true, force: true });
  });

  const archived = async () =>
    (await store.db.selectFrom('evidence_archive').select('partition_name').orderBy('month_from').execute()).map((r) => r.partition_name);

  it('is scheduled daily when a retention is set', async () => {
    const { rows } = await sql<{
      cron: string;
    }>`select cron from ${sql.table(`${JOB_SCHEMA}.schedule`)} where name = ${QUEUES.archive}`.execute(store.db);
    expect(rows).toEqual([{ cron: ARCHIVE_CRON }]);
  });

  it('archives what is past the horizon at the job’s clock, then more as the clock moves on', async () => {
    await jobs.send(QUEUES.archive);
    await waitFor(
      'the first archive run',
      async () => (await jobCount(store, QUEUES.archive, 'completed')) === 1 && (await queuesIdle(store)),
    );
    // 2026-03-10, 12 months: the horizon is 2025-03-01. August 2025 is inside it.
    expect(await archived()).toEqual(['entra_sign_in_2025_01']);

    clock = new Date('2027-01-10T03:30:00Z');
    await jobs.send(QUEUES.archive);
    await waitFor(
      'the second archive run',
      async () => (await jobCount(store, QUEUES.archive, 'completed')) === 2 && (await queuesIdle(store)),
    );
    expect(await archived()).toEqual(['entra_sign_in_2025_01', 'entra_sign_in_2025_08']);
    expect(await verifyChain(store.db, { archiveDir: config.archiveDir })).toMatchObject({ intact: true, archived: { filesChecked: 2 } });
  });

  it('is unscheduled by a service started without a retention', async () => {
    const keepForever = parseConfig({ ACCESSTRAIL_DATA_DIR: config.dataDir }, config.dataDir);
    const other = createJobSystem({
      store,
      config: keepForever,
      logger: createLogger({ level: 'silent' }),
      now: () => clock,
      collectAtStart: false,
    });
    await other.start();
    try {
      const { rows } = await sql`select name from ${sql.table(`${JOB_SCHEMA}.schedule`)} where name = ${QUEUES.archive}`.execute(store.db);
      expect(rows).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});
