// Login matching in slices (matching.ts): on Postgres the logins are matched by several
// connections at once, on one exported snapshot. What a user relies on: the run's matches
// are exactly those one statement computes; a slice whose connection cannot be opened is
// matched anyway; a slice that fails fails the run and leaves no table behind; and a
// table left by a process that died is dropped by the next run.
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN_GROUP, APP_ID, asOf, generateCorrelationStore, period } from '../../bench/lib/correlation-store.js';
import { correlate } from '../../src/correlation/correlate.js';
import { loginMatchPartition, type MatchingParameters, matchLogins } from '../../src/correlation/matching.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import type { StoredRunSummary } from '../../src/correlation/reuse.js';
import type { Rule } from '../../src/correlation/types.js';
import { openStore, type Store } from '../../src/store/database.js';
import type { Database } from '../../src/store/schema.js';
import { createTestDatabase, onTestServer, postgresAvailable, type TestDatabase } from '../support/database.js';

const available = await postgresAvailable();
const parameters = resolveRuleParameters({}, { adminGroupIds: [ADMIN_GROUP] });

/** A run of its own with the links of `from`, for matching alone. */
async function runLike(db: Kysely<Database>, from: number): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    insert into correlation_run (period_from, period_to, as_of, status) values (${period.from}, ${period.to}, ${asOf}, 'running') returning id`.execute(
    db,
  );
  const runId = Number(rows[0]!.id);
  await sql`
    insert into identity_link (run_id, metabase_source_id, account_id, status, person_id, entra_source_id, method, matched_value, candidates)
    select ${runId}, metabase_source_id, account_id, status, person_id, entra_source_id, method, matched_value, candidates
    from identity_link where run_id = ${from}`.execute(db);
  return runId;
}

const matching = (runId: number): MatchingParameters => ({
  runId,
  period,
  beforeMinutes: 10,
  afterMinutes: 2,
  metabaseAppIds: [APP_ID],
  signInCoverage: [{ from: new Date(period.from.getTime() - 86_400_000), to: period.to }],
});

/** The rows of run `a` that run `b` does not have (every column but the run id). */
async function rowsMissing(db: Kysely<Database>, a: number, b: number): Promise<number> {
  const columns = sql`metabase_source_id, login_id, login_at, account_id, person_id, sign_in_source_id, sign_in_id, sign_in_at, lag_seconds, same_ip, outcome`;
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from (
      select ${columns} from login_match where run_id = ${a}
      except all
      select ${columns} from login_match where run_id = ${b}) d`.execute(db);
  return rows[0]!.n;
}

const tableExists = async (db: Kysely<Database>, name: string) =>
  (await sql<{ t: string | null }>`select to_regclass(${name})::text as t`.execute(db)).rows[0]!.t !== null;

describe.skipIf(!available)('login matching in slices on Postgres', () => {
  let database: TestDatabase;
  let store: Store;
  let name: string;
  let first: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    name = new URL(database.url).pathname.slice(1);
    // Three slices: the setting matching reads, for every connection opened from now on.
    await onTestServer(`alter database ${name} set max_parallel_workers_per_gather = 3`);
    store = await openStore({ databaseUrl: database.url, poolSize: 2 });
    await generateCorrelationStore(store.db, 0.003);
    const result = await correlate(store.db, { period, asOf, parameters, metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] });
    first = result.runId;
  }, 240_000);

  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('stores the same match for every login as one statement does', async () => {
    const { rows } = await sql<{ summary: StoredRunSummary }>`select summary from correlation_run where id = ${first}`.execute(store.db);
    expect(rows[0]!.summary.matchingSlices).toBe(3);
    const whole = await runLike(store.db, first);
    const outcome = await matchLogins(store.db, matching(whole), { slices: 1 });
    expect(outcome.slices).toBe(1);
    const logins = Object.values(outcome.counts).reduce((a, b) => a + b, 0);
    expect(logins).toBeGreaterThan(1000);
    expect(outcome.counts.explained).toBeGreaterThan(0);
    expect(outcome.counts.unexplained + outcome.counts['password-session'] + outcome.counts.unlinked).toBeGreaterThan(0);
    // Every slice's logins, and nothing twice: the two runs hold the same rows.
    expect(await rowsMissing(store.db, first, whole)).toBe(0);
    expect(await rowsMissing(store.db, whole, first)).toBe(0);
    const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from login_match where run_id = ${first}`.execute(
      store.db,
    );
    expect(counted[0]!.n).toBe(logins);
  });

  it("matches a slice on the first connection when the slice's own cannot be opened", async () => {
    const runId = await runLike(store.db, first);
    // The pool keeps its open connection; no new one is accepted until this is undone.
    await sql`select 1`.execute(store.db);
    await onTestServer(`alter database ${name} allow_connections false`);
    let outcome: Awaited<ReturnType<typeof matchLogins>>;
    try {
      outcome = await matchLogins(store.db, matching(runId), { slices: 3 });
    } finally {
      await onTestServer(`alter database ${name} allow_connections true`);
    }
    expect(outcome.slices).toBe(3);
    expect(await rowsMissing(store.db, first, runId)).toBe(0);
    expect(await rowsMissing(store.db, runId, first)).toBe(0);
  });

  it('fails when a slice fails, and drops the unattached table', async () => {
    const runId = await runLike(store.db, first);
    await sql`select 1`.execute(store.db);
    // Connections opened from now on (the slices') cancel every statement at once; the
    // pool's open connection is not affected.
    await onTestServer(`alter database ${name} set statement_timeout = 1`);
    try {
      await expect(matchLogins(store.db, matching(runId), { slices: 2 })).rejects.toThrow(/statement timeout/);
    } finally {
      await onTestServer(`alter database ${name} reset statement_timeout`);
    }
    expect(await tableExists(store.db, loginMatchPartition(runId))).toBe(false);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from login_match where run_id = ${runId}`.execute(store.db);
    expect(rows[0]!.n).toBe(0);
  });

  it('runs the rules as many at a time as there are slices, keeps their order, and stops at a failure', async () => {
    let running = 0;
    let most = 0;
    const started: string[] = [];
    const rule = (id: string, ms: number, fails = false): Rule => ({
      id,
      title: id,
      severity: 'low',
      controls: [],
      parameters: {},
      file: 'test',
      async evaluate() {
        started.push(id);
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, ms));
        running -= 1;
        if (fails) throw new Error(`rule ${id} failed`);
        return { status: 'evaluated', reason: null, findings: [], notEvaluableCount: 0, detail: {} };
      },
      statements: async () => [],
    });
    const request = { period, asOf, parameters, metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] };
    // Finish in another order than they start: the results are in the rules' order.
    const done = await correlate(store.db, {
      ...request,
      rules: [rule('slow', 300), rule('quick', 10), rule('middle', 100), rule('last', 10)],
    });
    expect(done.rules.map((r) => r.id)).toEqual(['slow', 'quick', 'middle', 'last']);
    // Three at a time by the slices, but each rule holds one of the pool's two connections
    // while it reads: the third waits for one.
    expect(most).toBe(2);

    started.length = 0;
    const failing = [rule('fails', 300, true), rule('long', 600), rule('short', 10), ...['a', 'b', 'c', 'd'].map((id) => rule(id, 200))];
    await expect(correlate(store.db, { ...request, rules: failing })).rejects.toThrow('rule fails failed');
    // The first three started together; after the failure no rule starts, and the run
    // fails only once the rules already running have ended.
    expect(started.slice(0, 3)).toEqual(['fails', 'long', 'short']);
    expect(started.length).toBeLessThan(failing.length);
    expect(running).toBe(0);
    const { rows } = await sql<{ status: string }>`select status from correlation_run order by id desc limit 1`.execute(store.db);
    expect(rows[0]!.status).toBe('failed');
  });

  it('drops a table a dead process left unattached, and keeps the one of a run still running', async () => {
    const dead = await runLike(store.db, first);
    await sql`update correlation_run set status = 'failed' where id = ${dead}`.execute(store.db);
    const running = await runLike(store.db, first);
    // Marked running for two days: its process died without saying so.
    const stale = await runLike(store.db, first);
    await sql`update correlation_run set started_at = now() - interval '2 days' where id = ${stale}`.execute(store.db);
    for (const run of [dead, running, stale])
      await sql`create table ${sql.raw(loginMatchPartition(run))} (like login_match including defaults)`.execute(store.db);

    await correlate(store.db, { period, asOf, parameters, metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] });
    expect(await tableExists(store.db, loginMatchPartition(dead))).toBe(false);
    expect(await tableExists(store.db, loginMatchPartition(stale))).toBe(false);
    expect(await tableExists(store.db, loginMatchPartition(running))).toBe(true);
  });
});

describe('login matching on the embedded engine', () => {
  it('runs in one slice, on its one connection, and drops a table left unattached from the first run on', async () => {
    const embedded = await openStore({ dataDir: 'memory://' });
    try {
      await generateCorrelationStore(embedded.db, 0.001);
      await sql`create table login_match_run_99 (like login_match including defaults)`.execute(embedded.db);
      const result = await correlate(embedded.db, { period, asOf, parameters, metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] });
      const { rows } = await sql<{ summary: StoredRunSummary }>`select summary from correlation_run where id = ${result.runId}`.execute(
        embedded.db,
      );
      expect(rows[0]!.summary.matchingSlices).toBe(1);
      expect(Object.values(result.matches).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      // A table left unattached (of a run the store has no row for) goes with the very
      // first run, before any run is old enough to prune.
      expect(await tableExists(embedded.db, 'login_match_run_99')).toBe(false);
    } finally {
      await embedded.close();
    }
  }, 120_000);
});
