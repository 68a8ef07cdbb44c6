// login_match holds one partition per correlation run (migration 0014): the rows stored
// before the migration move to their run's partition, matching writes a run's rows into
// its own partition (indexed as the parent is), and pruning drops old runs' partitions.
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';

import { ADMIN_GROUP, APP_ID, asOf, generateCorrelationStore, period } from '../../bench/lib/correlation-store.js';
import { correlate, KEEP_DERIVED_RUNS } from '../../src/correlation/correlate.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import { openStore, type Store } from '../../src/store/database.js';
import { migrateToLatest, migrationsDir } from '../../src/store/migrate.js';
import type { Database } from '../../src/store/schema.js';
import { createTestDatabase, engines, postgresAvailable, type TestDatabase } from '../support/database.js';

const partitionsOf = async (db: Kysely<Database>) =>
  (
    await sql<{ name: string; rows: number; indexes: number }>`
      select c.relname as name, (select count(*) from pg_index x where x.indrelid = c.oid)::int as indexes,
             coalesce((select count(*) from login_match m where m.tableoid = c.oid), 0)::int as rows
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'login_match'::regclass order by c.relname`.execute(db)
  ).rows;

describe.each(engines)('login_match per correlation run on %s', (engine) => {
  let store: Store | undefined;
  let database: TestDatabase | undefined;

  const open = async () => {
    if (engine === 'postgres' && (await postgresAvailable())) {
      database = await createTestDatabase();
      return openStore({ databaseUrl: database.url, migrate: false, poolSize: 2 });
    }
    return openStore({ dataDir: 'memory://', migrate: false });
  };

  afterEach(async () => {
    await store?.close();
    await database?.drop();
    store = undefined;
    database = undefined;
  });

  it('moves the rows stored before migration 0014 to one partition per run', async () => {
    store = await open();
    const before = mkdtempSync(path.join(tmpdir(), 'migrations-before-0014-'));
    for (const file of readdirSync(migrationsDir).filter((name) => /^\d{4}_.*\.sql$/.test(name) && Number(name.slice(0, 4)) < 14))
      copyFileSync(path.join(migrationsDir, file), path.join(before, file));
    await migrateToLatest(store.db, before);
    for (const run of [1, 2]) {
      await sql`insert into correlation_run (id, period_from, period_to, as_of, status) values (${run}, ${period.from}, ${period.to}, ${asOf}, 'succeeded')`.execute(
        store.db,
      );
      for (let i = 0; i < run + 1; i += 1)
        await sql`insert into login_match (run_id, metabase_source_id, login_id, login_at, account_id, outcome)
                  values (${run}, 'metabase:m', ${`login-${i}`}, ${asOf}, ${i}, 'unlinked')`.execute(store.db);
    }

    await migrateToLatest(store.db);
    expect(await partitionsOf(store.db)).toEqual([
      { name: 'login_match_default', rows: 0, indexes: 2 },
      { name: 'login_match_run_1', rows: 2, indexes: 2 },
      { name: 'login_match_run_2', rows: 3, indexes: 2 },
    ]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from login_match where run_id = 2`.execute(store.db);
    expect(rows[0]!.n).toBe(3);
  });

  it("writes each run's matches into its own partition and drops the partitions of pruned runs", async () => {
    store = await open();
    await migrateToLatest(store.db);
    await generateCorrelationStore(store.db, 0.002);
    const parameters = resolveRuleParameters({}, { adminGroupIds: [ADMIN_GROUP] });
    const runs: number[] = [];
    for (let i = 0; i <= KEEP_DERIVED_RUNS; i += 1) {
      const result = await correlate(store.db, { period, asOf, parameters, metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] });
      runs.push(result.runId);
      const logins = Object.values(result.matches).reduce((a, b) => a + b, 0);
      expect(logins).toBeGreaterThan(0);
      const partition = (await partitionsOf(store.db)).find((p) => p.name === `login_match_run_${result.runId}`);
      expect(partition).toEqual({ name: `login_match_run_${result.runId}`, rows: logins, indexes: 2 });
    }
    const names = (await partitionsOf(store.db)).map((p) => p.name);
    // The first run is pruned by the last one: its partition is gone, the others stay.
    expect(names).toEqual(['login_match_default', ...runs.slice(1).map((run) => `login_match_run_${run}`)]);
  });
});
