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
import { type Kysely, type RawBuilder, sql } from 'kysely';

import type { TimeRange } from '../store/collection.repository.js';
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

/** The statement that computes the matches of a run into its partition's table. */
export function matchLoginsStatement(p: MatchingParameters): RawBuilder<unknown> {
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
      where l.occurred_at >= ${p.period.from} and l.occurred_at < ${p.period.to}
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

/** What matching runs, in one transaction: the partition's table (its CHECK lets ATTACH
 *  skip the scan that would prove the bound), the matches, its two indexes (one sorted
 *  build each), and the attach (SHARE UPDATE EXCLUSIVE on login_match: readers and other
 *  runs go on). */
export function matchingSteps(p: MatchingParameters): { name: string; query: RawBuilder<unknown> }[] {
  const partition = sql.raw(loginMatchPartition(p.runId));
  const run = sql.lit(p.runId);
  return [
    { name: 'create', query: sql`create table ${partition} (like login_match including defaults, check (run_id = ${run}))` },
    { name: 'match', query: matchLoginsStatement(p) },
    { name: 'primary key', query: sql`alter table ${partition} add primary key (run_id, metabase_source_id, login_id)` },
    { name: 'person index', query: sql`create index on ${partition} (run_id, person_id, login_at, login_id)` },
    { name: 'attach', query: sql`alter table login_match attach partition ${partition} for values in (${run})` },
  ];
}

export async function matchLogins(db: Kysely<Database>, p: MatchingParameters): Promise<Record<MatchOutcome, number>> {
  await db.transaction().execute(async (trx) => {
    // One statement of short index probes: JIT compilation (~1 s at 1M logins, the plan's
    // "JIT" section) costs more than it saves here.
    await sql`set local jit = off`.execute(trx);
    // The period's logins are hashed against the links and accounts: with the default 4 MB
    // they spill to disk in 16 batches at 721,486 logins; 64 MB keeps them in memory
    // (measured on the 1M store, alternating in one session: 9.4–10.1 s with 4 MB,
    // 6.8–8.8 s with 64 MB, at load ~14).
    await sql`set local work_mem = '64MB'`.execute(trx);
    for (const step of matchingSteps(p)) await step.query.execute(trx);
  });
  await sql`analyze ${sql.raw(loginMatchPartition(p.runId))}`.execute(db);
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
  return counts;
}
