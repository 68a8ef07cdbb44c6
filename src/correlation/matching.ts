// Matches each Metabase login (login_history) of the period to the successful Metabase
// app sign-in of the linked person that explains it: one with createdDateTime in
// [login − before, login + after]; among several, the same IP first, then the closest.
// The outcome of every login is stored for the run (login_match), so sso-bypass and the
// report read the same answer.
//
// Each run's rows are its own partition of login_match (migration 0014): written into a
// table of their own without index maintenance, indexed once, then attached. Inserting
// them into one table whose indexes held every kept run's rows cost most of matching at
// 1M logins (docs/scale.md, "Correlation").
//
// On Postgres the logins are matched in slices, one connection each, at the same time:
// Postgres 15 runs no part of this statement in parallel workers (a LATERAL subquery with
// LIMIT keeps the whole plan in one process), so a second connection is how matching
// uses a second core. Every slice reads the same snapshot, exported by the first
// (pg_export_snapshot, as pg_dump --jobs does), so the run's matches are those one
// statement would have computed; a slice is the logins of the accounts whose id falls in
// it (account id mod slices), so each login is in exactly one. How many: the server's
// max_parallel_workers_per_gather (default 2; 0 or 1: one slice). The first slice runs on
// the caller's connection, the others each on a connection of their own outside the pool
// (so they never wait for one); a slice whose connection cannot be opened is run by the
// first, in its snapshot, after its own. The embedded engine has one connection: one slice.
import { type Kysely, type RawBuilder, sql } from 'kysely';

import type { TimeRange } from '../store/collection.repository.js';
import { newStoreConnection, opensStoreConnections, parallelConnections } from '../store/database.js';
import type { Database } from '../store/schema.js';

export interface MatchingParameters {
  runId: number;
  period: TimeRange;
  beforeMinutes: number;
  afterMinutes: number;
  metabaseAppIds: string[];
  /** Merged Entra sign-in coverage: a login whose window is not inside it is not evaluable. */
  signInCoverage: TimeRange[];
}

export type MatchOutcome = 'explained' | 'unexplained' | 'password-session' | 'unlinked' | 'not-evaluable' | 'non-human';

/** The table that holds a run's matches: written by matching, then attached as the run's
 *  partition of login_match. */
export function loginMatchPartition(runId: number): string {
  if (!Number.isSafeInteger(runId) || runId <= 0) throw new Error(`not a run id: ${runId}`);
  return `login_match_run_${runId}`;
}

/** One slice of a run's logins: those of the accounts whose id mod `of` is `index`. */
export interface MatchingSlice {
  index: number;
  of: number;
}

const WHOLE: MatchingSlice = { index: 0, of: 1 };

/** The statement that computes the matches of a run (or of one slice of its logins) into
 *  its partition's table. */
export function matchLoginsStatement(p: MatchingParameters, slice: MatchingSlice = WHOLE): RawBuilder<unknown> {
  const coverage = JSON.stringify(
    p.signInCoverage.map((range) => ({ covered_from: range.from.toISOString(), covered_to: range.to.toISOString() })),
  );
  const before = `${p.beforeMinutes} minutes`;
  const after = `${p.afterMinutes} minutes`;
  return sql`
    insert into ${sql.raw(loginMatchPartition(p.runId))} (run_id, metabase_source_id, login_id, login_at, account_id, person_id, sign_in_source_id, sign_in_id, sign_in_at, lag_seconds, same_ip, outcome)
    with coverage as (
      select * from jsonb_to_recordset(${coverage}::jsonb) as c(covered_from timestamptz, covered_to timestamptz)
    ), account as (
      select distinct on (v.source_id, v.upstream_id) v.source_id, v.upstream_id::bigint as account_id, v.is_human
      from metabase_account_version v where v.present
      order by v.source_id, v.upstream_id, v.observed_at desc
    ), logins as (
      select l.source_id, l.upstream_id, l.occurred_at, l.user_id, l.ip_address, l.session_key,
             il.status, il.person_id, coalesce(a.is_human, true) as is_human,
             exists (
               select 1 from metabase_session s
               join metabase_auth_identity ai on ai.source_id = s.source_id and ai.upstream_id = s.auth_identity_id::text
               where s.source_id = l.source_id and s.upstream_id = l.session_key and ai.provider = 'password'
             ) as password_session,
             exists (
               select 1 from coverage c
               where c.covered_from <= l.occurred_at - ${before}::interval and c.covered_to >= l.occurred_at + ${after}::interval
             ) as covered
      from metabase_login l
      left join identity_link il on il.run_id = ${p.runId} and il.metabase_source_id = l.source_id and il.account_id = l.user_id
      left join account a on a.source_id = l.source_id and a.account_id = l.user_id
      where l.occurred_at >= ${p.period.from} and l.occurred_at < ${p.period.to}${
        // ((id mod n) + n) mod n: in 0 … n−1 for a negative id too, so no login falls outside every slice.
        slice.of > 1 ? sql` and ((l.user_id % ${slice.of}) + ${slice.of}) % ${slice.of} = ${slice.index}` : sql``
      }
    )
    select ${p.runId}, lg.source_id, lg.upstream_id, lg.occurred_at, lg.user_id, lg.person_id,
           m.source_id, m.upstream_id, m.occurred_at,
           extract(epoch from lg.occurred_at - m.occurred_at), m.same_ip,
           case
             when not lg.is_human then 'non-human'
             when lg.password_session then 'password-session'
             when lg.status is distinct from 'linked' then 'unlinked'
             when m.upstream_id is not null then 'explained'
             when not lg.covered then 'not-evaluable'
             else 'unexplained'
           end
    from logins lg
    left join lateral (
      select s.source_id, s.upstream_id, s.occurred_at, (s.ip_address = lg.ip_address) as same_ip
      from entra_sign_in s
      where lg.status = 'linked' and s.user_id = lg.person_id
        and s.app_id = any(${p.metabaseAppIds}::text[]) and s.error_code = 0
        and s.occurred_at between lg.occurred_at - ${before}::interval and lg.occurred_at + ${after}::interval
      order by (s.ip_address = lg.ip_address) desc nulls last, abs(extract(epoch from s.occurred_at - lg.occurred_at)), s.upstream_id
      limit 1
    ) m on true`;
}

/** The steps of matching, as the plan writer (bench/correlate.ts) replays them: the
 *  partition's table (its CHECK lets ATTACH skip the scan that would prove the bound), the
 *  matches, its two indexes (one sorted build each), and the attach (SHARE UPDATE
 *  EXCLUSIVE on login_match: readers and other runs go on). */
export function matchingSteps(p: MatchingParameters, slice: MatchingSlice = WHOLE): { name: string; query: RawBuilder<unknown> }[] {
  return [
    { name: 'create', query: createPartitionTable(p.runId) },
    { name: 'match', query: matchLoginsStatement(p, slice) },
    ...indexAndAttach(p.runId),
  ];
}

function createPartitionTable(runId: number): RawBuilder<unknown> {
  return sql`create table ${sql.raw(loginMatchPartition(runId))} (like login_match including defaults, check (run_id = ${sql.lit(runId)}))`;
}

function indexAndAttach(runId: number): { name: string; query: RawBuilder<unknown> }[] {
  const partition = sql.raw(loginMatchPartition(runId));
  return [
    { name: 'primary key', query: sql`alter table ${partition} add primary key (run_id, metabase_source_id, login_id)` },
    { name: 'person index', query: sql`create index on ${partition} (run_id, person_id, login_at, login_id)` },
    { name: 'attach', query: sql`alter table login_match attach partition ${partition} for values in (${sql.lit(runId)})` },
  ];
}

const SLICE_SETTINGS = [
  // JIT compilation (~1 s at 1M logins, the plan's "JIT" section) costs more than it
  // saves in one statement of short index probes.
  'set local jit = off',
  // The period's logins are hashed against the links and accounts: with the default 4 MB
  // they spill to disk in 16 batches at 721,486 logins; 64 MB keeps them in memory
  // (measured on the 1M store, alternating in one session: 9.4–10.1 s with 4 MB,
  // 6.8–8.8 s with 64 MB, at load ~14).
  "set local work_mem = '64MB'",
];

/** Fills the run's table with every login's match, in `slices` transactions at once on
 *  one snapshot. Each slice commits on its own; the caller drops the table when any fails. */
async function fillSlices(db: Kysely<Database>, p: MatchingParameters, slices: number): Promise<void> {
  const others: Promise<void>[] = [];
  let failure: unknown;
  try {
    await db.transaction().execute(async (lead) => {
      await sql`set transaction isolation level repeatable read`.execute(lead);
      for (const setting of SLICE_SETTINGS) await sql.raw(setting).execute(lead);
      if (slices === 1) {
        await matchLoginsStatement(p).execute(lead);
        return;
      }
      const { rows } = await sql<{ snapshot: string }>`select pg_export_snapshot() as snapshot`.execute(lead);
      const snapshot = rows[0]!.snapshot;
      // The snapshot can be taken only while this transaction is open: it commits once
      // every other slice has taken it, or has failed to open its connection.
      const started: Promise<boolean>[] = [];
      for (let index = 1; index < slices; index += 1) {
        let reportStart!: (took: boolean) => void;
        started.push(new Promise<boolean>((resolve) => (reportStart = resolve)));
        const compiled = matchLoginsStatement(p, { index, of: slices }).compile(db);
        const work = (async () => {
          const client = newStoreConnection(db, 'accesstrail matching')!;
          client.on('error', () => undefined);
          try {
            await client.connect();
          } catch {
            reportStart(false);
            return;
          }
          try {
            await client.query('begin isolation level repeatable read');
            await client.query(`set transaction snapshot '${snapshot.replace(/'/g, "''")}'`);
            reportStart(true);
            for (const setting of SLICE_SETTINGS) await client.query(setting);
            await client.query(compiled.sql, [...compiled.parameters]);
            await client.query('commit');
          } finally {
            await client.end().catch(() => undefined);
          }
        })();
        work.catch(() => reportStart(true));
        others.push(work);
      }
      await matchLoginsStatement(p, { index: 0, of: slices }).execute(lead);
      const took = await Promise.all(started);
      // Slices whose connection did not open: in this snapshot, by this connection.
      for (let index = 1; index < slices; index += 1) {
        if (!took[index - 1]) await matchLoginsStatement(p, { index, of: slices }).execute(lead);
      }
    });
  } catch (error) {
    failure = error;
  }
  // Every slice has ended (committed or rolled back) before the caller may drop the table.
  const settled = await Promise.allSettled(others);
  if (failure !== undefined) throw failure;
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

export async function matchLogins(
  db: Kysely<Database>,
  p: MatchingParameters,
  options: { slices?: number; timings?: Record<string, number> } = {},
): Promise<{ counts: Record<MatchOutcome, number>; slices: number }> {
  // A store that opens no connections beside the pool has one slice, whatever is asked.
  const slices = opensStoreConnections(db) ? (options.slices ?? (await parallelConnections(db))) : 1;
  const phase = async (name: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    if (options.timings) options.timings[`matching:${name}`] = (performance.now() - started) / 1000;
  };
  const partition = sql.raw(loginMatchPartition(p.runId));
  // The table is committed first, so that every slice's connection can write into it; it
  // is not a partition of login_match (no reader sees it) until it is attached, whole.
  await createPartitionTable(p.runId).execute(db);
  try {
    await phase('match', () => fillSlices(db, p, slices));
    await phase('indexes', () =>
      db.transaction().execute(async (trx) => {
        for (const step of indexAndAttach(p.runId)) await step.query.execute(trx);
      }),
    );
  } catch (error) {
    await sql`drop table if exists ${partition}`.execute(db).catch(() => undefined);
    throw error;
  }
  await phase('analyze', () => sql`analyze ${partition}`.execute(db));
  const rows = await db
    .selectFrom('login_match')
    .select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
    .where('run_id', '=', p.runId)
    .groupBy('outcome')
    .execute();
  const counts: Record<MatchOutcome, number> = {
    explained: 0,
    unexplained: 0,
    'password-session': 0,
    unlinked: 0,
    'not-evaluable': 0,
    'non-human': 0,
  };
  for (const row of rows) counts[row.outcome as MatchOutcome] = Number(row.n);
  return { counts, slices };
}
