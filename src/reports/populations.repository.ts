// The report's populations (human accounts, terminated people, privileged accounts,
// privilege changes, non-human accounts, credentials) read from the store, for one
// correlation run and period. Issue 13: the human-accounts query joined the
// state-at-as-of subqueries to each other on (source, account); the planner estimated
// them at a few dozen rows (jsonb_to_recordset counts as 100 rows, its filter as a third)
// and chose a merge join on source_id alone with the account as a join filter — every
// account against every account, and the privileged subquery (itself three state-at
// subqueries) re-read per row: ~50 s for 1,257 accounts, > 32 min for 12k.
//
// So the state at as-of of each state table a population reads is materialised ONCE per
// report into a temporary table (dropped at commit) and analysed: the planner then knows
// it holds 12k accounts and joins by hash. Everything runs in one transaction (temporary
// tables belong to one connection), on both engines. The statements are kept under
// test/sql/report-populations.sql beside the rules' SQL, and bench/report-from-store.ts
// writes each one's plan to bench/out/.
import { type CompiledQuery, type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';

import type { CorrelationResult } from '../correlation/correlate.js';
import { deliveryList } from '../correlation/rules/common.js';
import type { EntraCredentialRow as StaleEntraCredentialRow } from '../correlation/rules/stale-credential.rule.js';
import { type PrivilegedAccountRow, privilegedAccountsSql } from '../correlation/rules/unjustified-privilege.rule.js';
import type { RuleContext } from '../correlation/types.js';
import type { TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';
import type { StateTableName } from '../store/tables.js';
import type {
  CredentialRow,
  HumanAccountRow,
  NonHumanRow,
  Populations,
  PrivilegeChangeRow,
  PrivilegedRow,
  TerminatedPersonRow,
} from './model.js';

const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : new Date(value).toISOString();

/** The state tables the populations read at as-of: each becomes one analysed temporary table. */
export const POPULATION_STATE_INPUTS = [
  'metabase_account_version',
  'metabase_membership_version',
  'metabase_group_version',
  'entra_group_member_version',
  'metabase_api_key_version',
  'entra_credential_version',
] as const satisfies readonly StateTableName[];

type StateInput = (typeof POPULATION_STATE_INPUTS)[number];

export const stateInputTable = (table: StateInput): string => `report_state_${table}`;

export interface PopulationInput {
  /** The rule context of the report's run (its stateAt reads the run's state instants). */
  context: RuleContext;
  correlation: Pick<CorrelationResult, 'inventory'>;
  /** The evaluated period: [from, min(to, as-of)). */
  period: TimeRange;
}

export interface NamedStatement {
  name: string;
  query: RawBuilder<unknown>;
}

/** Called with each population statement, inside the report's transaction, before it
 *  runs (bench/report-from-store EXPLAINs them there, where the temporary tables exist). */
export type StatementObserver = (name: string, compiled: CompiledQuery, trx: Transaction<Database>) => Promise<void>;

/** The context whose state-at reads the temporary tables. */
function materialisedContext(context: RuleContext): RuleContext {
  return {
    ...context,
    stateAt: async (table) =>
      (POPULATION_STATE_INPUTS as readonly string[]).includes(table)
        ? sql.table(stateInputTable(table as StateInput))
        : context.stateAt(table),
  };
}

/** Creates and analyses the temporary state tables (one transaction: they drop at commit). */
export async function populationInputStatements(context: RuleContext): Promise<NamedStatement[]> {
  const out: NamedStatement[] = [];
  for (const table of POPULATION_STATE_INPUTS) {
    const name = stateInputTable(table);
    out.push({
      name: `input ${table}`,
      query: sql`create temporary table ${sql.table(name)} on commit drop as select * from ${await context.stateAt(table)} s`,
    });
    // Probed by (source, upstream id) from the per-account subqueries below.
    if (table === 'metabase_account_version' || table === 'metabase_api_key_version')
      out.push({ name: `index ${table}`, query: sql`create index on ${sql.table(name)} (source_id, upstream_id)` });
    out.push({ name: `analyze ${table}`, query: sql`analyze ${sql.table(name)}` });
  }
  return out;
}

/** The population queries, over the temporary state tables. */
export async function populationStatements(input: PopulationInput): Promise<NamedStatement[]> {
  const context = materialisedContext(input.context);
  const { asOf, runId } = context;
  const period = input.period;
  const accountsAt = sql.table(stateInputTable('metabase_account_version'));
  const apiKeys = sql.table(stateInputTable('metabase_api_key_version'));
  const entraMembers = sql.table(stateInputTable('entra_group_member_version'));
  const entraCredentials = sql.table(stateInputTable('entra_credential_version'));
  const privileged = await privilegedAccountsSql(context);
  const adminGroups = input.correlation.inventory.adminGroupIds;
  // An account's first and last event of one Metabase table in the period (alias `alias`).
  const activitySpan = (table: string, accountColumn: string, alias: string) => sql`left join lateral (
      select min(occurred_at) as first_at, max(occurred_at) as last_at from ${sql.raw(table)}
      where source_id = a.source_id and ${sql.raw(accountColumn)} = a.upstream_id::bigint and occurred_at >= ${period.from} and occurred_at < ${period.to}
    ) ${sql.raw(alias)} on true`;
  const people = sql`(select distinct on (upstream_id) upstream_id, user_principal_name from entra_user_version where present order by upstream_id, observed_at desc)`;

  return [
    {
      // Every human account active at any time in the period (not only at as-of).
      name: 'humanAccounts',
      query: sql`
    with accounts as (
      select a.* from ${accountsAt} a
      where a.present and coalesce(a.is_human, true)
        and (a.date_joined is null or a.date_joined < ${period.to})
        and (a.is_active or a.deactivated_at >= ${period.from})
    ), privileged as ${privileged},
    people as ${people}
    select a.source_id, a.upstream_id::bigint as account_id, a.email, (a.is_active or a.deactivated_at > ${asOf}) as is_active, a.sso_source, a.date_joined,
           il.status, il.method, il.person_id, lower(p.user_principal_name) as upn,
           coalesce(pr.via_superuser or pr.via_admin_group, false) as privileged,
           least(l.first_at, q.first_at, v.first_at, e.first_at) as first_activity,
           greatest(l.last_at, q.last_at, v.last_at, e.last_at) as last_activity,
           si.at as last_sign_in
    from accounts a
    left join identity_link il on il.run_id = ${runId} and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    left join privileged pr on pr.source_id = a.source_id and pr.account_id = a.upstream_id::bigint
    left join people p on p.upstream_id = il.person_id
    -- First and last activity in the period, and the last successful sign-in: index
    -- probes per account (min/max read one end of (source, user, time) indexes)
    -- rather than aggregating every event of the period.
    ${activitySpan('metabase_login', 'user_id', 'l')}
    ${activitySpan('metabase_query_execution', 'executor_id', 'q')}
    ${activitySpan('metabase_view', 'user_id', 'v')}
    ${activitySpan('metabase_audit_event', 'user_id', 'e')}
    left join lateral (
      select max(s.occurred_at) as at from entra_sign_in s
      where s.user_id = il.person_id and s.app_id = any(${input.correlation.inventory.metabaseAppIds}::text[]) and s.error_code = 0 and s.occurred_at <= ${asOf}
    ) si on true
    order by a.source_id, a.upstream_id::bigint`,
    },
    {
      // People terminated during the period, with what happened to their Metabase access.
      name: 'terminatedPeople',
      query: sql`
    with people as ${people},
    accounts as (select * from ${accountsAt} a where a.present)
    select distinct on (i.person_id, i.started_at, i.reason) i.person_id, lower(p.user_principal_name) as upn, i.started_at, i.approximate, i.reason,
           a.upstream_id::bigint as account_id, (a.is_active or a.deactivated_at > ${asOf}) as is_active, a.deactivated_at,
           -- The latest of each table apart (greatest ignores a null): each max reads one
           -- end of the (source, user, time) index, where a max over their union read
           -- every row of the account (7.5 s for 963 people at 5M query executions).
           greatest(
             (select max(occurred_at) from metabase_login where source_id = a.source_id and user_id = a.upstream_id::bigint and occurred_at <= ${asOf}),
             (select max(occurred_at) from metabase_query_execution where source_id = a.source_id and executor_id = a.upstream_id::bigint and occurred_at <= ${asOf}
                and (context is null or context not in (${deliveryList})))
           ) as last_activity
    from person_terminated_interval i
    left join people p on p.upstream_id = i.person_id
    left join identity_link il on il.run_id = ${runId} and il.status = 'linked' and il.person_id = i.person_id
    left join accounts a on a.source_id = il.metabase_source_id and a.upstream_id = il.account_id::text
    where i.run_id = ${runId} and i.started_at >= ${period.from} and i.started_at < ${period.to}
    order by i.person_id, i.started_at, i.reason, a.upstream_id`,
    },
    {
      name: 'privileged',
      query: sql`
    select p.source_id, p.account_id, p.email, p.person_id, p.link_status, coalesce(p.via_superuser, false) as via_superuser, p.via_admin_group,
           exists (select 1 from ${entraMembers} e where e.present and e.member_id = p.person_id and e.group_id = any(${adminGroups}::text[])) as in_group
    from ${privileged} p
    where p.via_superuser or p.via_admin_group
    order by p.source_id, p.account_id`,
    },
    {
      // Superuser flips between consecutive account versions in the period.
      name: 'privilegeChanges',
      query: sql`
    select observed_at, upstream_id, email, is_superuser, previous from (
      select v.observed_at, v.upstream_id, v.email, coalesce(v.is_superuser, false) as is_superuser,
             lag(coalesce(v.is_superuser, false)) over (partition by v.source_id, v.upstream_id order by v.observed_at) as previous
      from metabase_account_version v where v.present and v.observed_at <= ${asOf}
    ) x
    where previous is not null and previous <> is_superuser and observed_at >= ${period.from} and observed_at < ${period.to}
    order by observed_at, upstream_id`,
    },
    {
      name: 'nonHuman',
      query: sql`
    select a.source_id, a.upstream_id, a.email, a.account_type,
           (select coalesce(c.email, k.creator_id::text) from ${apiKeys} k
              left join ${accountsAt} c on c.source_id = k.source_id and c.upstream_id = k.creator_id::text
              where k.source_id = a.source_id and k.user_id = a.upstream_id::bigint limit 1) as owner,
           (select max(q.occurred_at) from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.upstream_id::bigint and q.occurred_at <= ${asOf}) as last_use
    from ${accountsAt} a
    where a.present and a.is_human = false
    order by a.source_id, a.upstream_id::bigint`,
    },
    {
      name: 'entraCredentials',
      query: sql`
    select key_id, app_id, owner_kind, credential_type, display_name, start_date_time, end_date_time from ${entraCredentials} c
    where c.present order by app_id, owner_kind, key_id`,
    },
    {
      name: 'apiKeys',
      query: sql`select upstream_id, key_prefix, name, created_at_source from ${apiKeys} k where k.present order by upstream_id::bigint`,
    },
    {
      name: 'accountCounts',
      query: sql`
    select count(*) filter (where coalesce(a.is_human, true))::int as human, count(*) filter (where a.is_human = false)::int as non_human
    from ${accountsAt} a where a.present`,
    },
  ];
}

interface HumanRow {
  source_id: string;
  account_id: number;
  email: string | null;
  is_active: boolean;
  sso_source: string | null;
  date_joined: Date | null;
  status: string | null;
  method: string | null;
  person_id: string | null;
  upn: string | null;
  privileged: boolean;
  first_activity: Date | null;
  last_activity: Date | null;
  last_sign_in: Date | null;
}
interface TerminatedRow {
  person_id: string;
  upn: string | null;
  started_at: Date;
  approximate: boolean;
  reason: string;
  account_id: number | null;
  is_active: boolean | null;
  deactivated_at: Date | null;
  last_activity: Date | null;
}
interface PrivilegedQueryRow extends PrivilegedAccountRow {
  in_group: boolean;
}
interface ChangeRow {
  observed_at: Date;
  upstream_id: string;
  email: string | null;
  is_superuser: boolean;
  previous: boolean | null;
}
interface NonHumanQueryRow {
  source_id: string;
  upstream_id: string;
  email: string | null;
  account_type: string | null;
  owner: string | null;
  last_use: Date | null;
}
type EntraCredentialRow = Omit<StaleEntraCredentialRow, 'source_id'>;
interface ApiKeyRow {
  upstream_id: string;
  key_prefix: string | null;
  name: string | null;
  created_at_source: Date | null;
}
interface CountRow {
  human: number;
  non_human: number;
}

export interface PopulationsRepository {
  read(input: PopulationInput, observe?: StatementObserver): Promise<Populations>;
}

export function createPopulationsRepository(db: Kysely<Database>): PopulationsRepository {
  return {
    async read(input, observe) {
      // Built before the transaction: stateAt may read the store (the state instants),
      // and the embedded engine has one connection, which the transaction holds.
      const inputs = await populationInputStatements(input.context);
      const statements = new Map((await populationStatements(input)).map((s) => [s.name, s]));
      return db.transaction().execute(async (trx) => {
        const run = async <R>(statement: NamedStatement): Promise<R[]> => {
          const compiled = statement.query.compile(trx);
          if (observe) await observe(statement.name, compiled, trx);
          return (await trx.executeQuery<R>(compiled)).rows;
        };
        // JIT compilation took 6.4 s of the 13.3 s human-accounts query at 20,000 accounts
        // (bench/out/report-populations-plans-1m.txt): its cost estimate is high, its work
        // is short index probes.
        await sql`set local jit = off`.execute(trx);
        for (const statement of inputs) await run(statement);
        const rows = async <R>(name: string) => run<R>(statements.get(name)!);
        return toPopulations(input, {
          human: await rows<HumanRow>('humanAccounts'),
          terminated: await rows<TerminatedRow>('terminatedPeople'),
          privileged: await rows<PrivilegedQueryRow>('privileged'),
          changes: await rows<ChangeRow>('privilegeChanges'),
          nonHuman: await rows<NonHumanQueryRow>('nonHuman'),
          credentials: await rows<EntraCredentialRow>('entraCredentials'),
          keys: await rows<ApiKeyRow>('apiKeys'),
          counts: await rows<CountRow>('accountCounts'),
        });
      });
    },
  };
}

function toPopulations(
  input: PopulationInput,
  r: {
    human: HumanRow[];
    terminated: TerminatedRow[];
    privileged: PrivilegedQueryRow[];
    changes: ChangeRow[];
    nonHuman: NonHumanQueryRow[];
    credentials: EntraCredentialRow[];
    keys: ApiKeyRow[];
    counts: CountRow[];
  },
): Populations {
  const adminGroups = input.correlation.inventory.adminGroupIds;
  const humanAccounts: HumanAccountRow[] = r.human.map((row) => ({
    metabaseSourceId: row.source_id,
    accountId: String(row.account_id),
    email: row.email,
    active: row.is_active,
    ssoSource: row.sso_source,
    linkStatus: row.status ?? 'unmatched',
    linkMethod: row.method,
    personId: row.person_id,
    upn: row.upn,
    privileged: row.privileged,
    dateJoined: iso(row.date_joined),
    firstActivity: iso(row.first_activity),
    lastActivity: iso(row.last_activity),
    lastSignIn: iso(row.last_sign_in),
  }));
  const terminatedPeople: TerminatedPersonRow[] = r.terminated.map((row) => ({
    personId: row.person_id,
    upn: row.upn,
    terminatedAt: new Date(row.started_at).toISOString(),
    approximate: row.approximate,
    reason: row.reason,
    accountState: row.account_id === null ? 'none' : row.is_active ? 'active' : 'deactivated',
    metabaseAccountId: row.account_id === null ? null : String(row.account_id),
    lastActivity: iso(row.last_activity),
    removalLagHours: row.deactivated_at
      ? Math.round(((new Date(row.deactivated_at).getTime() - new Date(row.started_at).getTime()) / 3_600_000) * 10) / 10
      : null,
  }));
  const privileged: PrivilegedRow[] = r.privileged.map((row) => ({
    metabaseSourceId: row.source_id,
    accountId: String(row.account_id),
    email: row.email,
    personId: row.person_id,
    viaSuperuser: row.via_superuser,
    viaAdminGroup: row.via_admin_group,
    justified: adminGroups.length === 0 ? null : row.link_status === 'linked' && row.in_group,
  }));
  const privilegeChanges: PrivilegeChangeRow[] = r.changes.map((row) => ({
    at: new Date(row.observed_at).toISOString(),
    accountId: row.upstream_id,
    email: row.email,
    change: row.is_superuser ? 'granted' : 'revoked',
    evidence: 'metabase account snapshot',
  }));
  const nonHuman: NonHumanRow[] = r.nonHuman.map((row) => ({
    metabaseSourceId: row.source_id,
    accountId: row.upstream_id,
    email: row.email,
    kind: row.account_type === 'internal' || row.upstream_id === '13371338' ? 'internal' : 'api-key',
    owner: row.owner,
    lastUse: iso(row.last_use),
  }));
  const credentials: CredentialRow[] = [
    ...r.credentials.map((row) => ({
      credentialId: row.key_id,
      appId: row.app_id,
      ownerKind: row.owner_kind,
      type: row.credential_type,
      displayName: row.display_name,
      start: iso(row.start_date_time),
      end: iso(row.end_date_time),
      source: 'entra' as const,
    })),
    ...r.keys.map((row) => ({
      credentialId: row.key_prefix ?? row.upstream_id,
      appId: null,
      ownerKind: 'metabase-api-key',
      type: 'api-key',
      displayName: row.name,
      start: iso(row.created_at_source),
      end: null,
      source: 'metabase' as const,
    })),
  ];
  const counts = r.counts[0];
  const intervalsInPeriod = new Set(r.terminated.map((row) => `${row.person_id}|${new Date(row.started_at).toISOString()}|${row.reason}`))
    .size;
  const reconciliation = [
    {
      population: 'humanAccounts',
      count: humanAccounts.length,
      sourceCount: counts?.human ?? 0,
      definition:
        'human Metabase accounts (core_user, not api-key/internal) active at any time in the period; source count: human accounts in the state at as-of',
    },
    {
      population: 'terminatedPeople',
      count: terminatedPeople.length,
      sourceCount: intervalsInPeriod,
      definition:
        'terminated intervals starting in the period (directory audits, deletion, leave dates, snapshots), one row per linked account',
    },
    {
      population: 'privileged',
      count: privileged.length,
      sourceCount: privileged.length,
      definition: 'active human accounts with is_superuser or membership of the Administrators group at as-of',
    },
    {
      population: 'nonHuman',
      count: nonHuman.length,
      sourceCount: counts?.non_human ?? 0,
      definition: 'Metabase accounts of type api-key or internal, or with an @api-key.invalid e-mail, at as-of',
    },
    {
      population: 'credentials',
      count: credentials.length,
      sourceCount: r.credentials.length + r.keys.length,
      definition: 'secrets and certificates of the watched Entra applications, and Metabase API keys, at as-of',
    },
  ];
  return { humanAccounts, terminatedPeople, privileged, privilegeChanges, nonHuman, credentials, reconciliation };
}
