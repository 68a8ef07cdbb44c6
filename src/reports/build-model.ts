// Builds the report model for a framework and a period from the stored evidence: the
// rules are evaluated for the period at its as-of (a correlation run of its own), then
// sources, controls, findings, populations and statistics are read from the store.
// Everything is sorted so that the same evidence and parameters give the same model.
import { sql, type Kysely } from 'kysely';
import { capabilities, streams } from '../collectors/streams.js';
import { apiLimits } from '../collectors/metabase/api-reader.js';
import { deliveryList } from '../correlation/rules/common.js';
import type { CorrelationResult } from '../correlation/correlate.js';
import { privilegedAccountsSql } from '../correlation/rules/unjustified-privilege.rule.js';
import type { RuleContext, RuleFinding } from '../correlation/types.js';
import { gapsIn, mergeRanges, type TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';
import { buildControlSections, loadFrameworkCatalogue, loadRuleCatalogue } from './catalogue.js';
import {
  REPORT_SCHEMA_VERSION,
  type CredentialRow,
  type Finding,
  type Framework,
  type HumanAccountRow,
  type NonHumanRow,
  type Populations,
  type PrivilegeChangeRow,
  type PrivilegedRow,
  type ReportModel,
  type RuleSection,
  type SourceSection,
  type Statistics,
  type TerminatedPersonRow,
} from './model.js';

const iso = (value: Date | string | null | undefined): string | null => (value === null || value === undefined ? null : new Date(value).toISOString());
const range = (r: TimeRange) => ({ from: r.from.toISOString(), to: r.to.toISOString() });

function clip(ranges: TimeRange[], within: TimeRange): TimeRange[] {
  return ranges
    .map((r) => ({ from: new Date(Math.max(r.from.getTime(), within.from.getTime())), to: new Date(Math.min(r.to.getTime(), within.to.getTime())) }))
    .filter((r) => r.from.getTime() < r.to.getTime());
}

/** Ranges covered by every one of `lists` (a source is covered only where all its logs are). */
function intersect(lists: TimeRange[][]): TimeRange[] {
  if (lists.length === 0) return [];
  return lists.reduce((acc, list) => {
    const out: TimeRange[] = [];
    for (const a of acc) for (const b of list) {
      const from = Math.max(a.from.getTime(), b.from.getTime());
      const to = Math.min(a.to.getTime(), b.to.getTime());
      if (from < to) out.push({ from: new Date(from), to: new Date(to) });
    }
    return mergeRanges(out);
  });
}

export interface BuildModelInput {
  db: Kysely<Database>;
  framework: Framework;
  period: TimeRange;
  generatedAt: Date;
  correlation: CorrelationResult;
}

export async function buildReportModel(input: BuildModelInput): Promise<ReportModel> {
  const { db, correlation } = input;
  const asOf = correlation.asOf;
  const period = input.period;
  const evaluated = correlation.period; // [from, min(to, asOf))
  const ruleCatalogue = loadRuleCatalogue();
  const frameworkCatalogue = loadFrameworkCatalogue(input.framework);

  const context: RuleContext = {
    db,
    runId: correlation.runId,
    directory: { personUpn: () => null, accountEmail: () => null },
    period: evaluated,
    asOf,
    parameters: {},
    inventory: correlation.inventory,
    stateAt: correlation.stateAt,
  };

  const toleranceHours = Number(correlation.rules.find((rule) => rule.id === 'log-gap')?.parameters['toleranceHours'] ?? 24);
  const sources = await sourceSections(db, correlation, evaluated, toleranceHours * 3_600_000);
  const rules: RuleSection[] = correlation.rules.map((result) => {
    const entry = ruleCatalogue.rules.find((rule) => rule.id === result.id);
    return {
      id: result.id,
      title: entry?.title ?? result.id,
      severity: result.severity,
      status: result.status,
      reason: result.reason,
      parameters: result.parameters,
      findingCount: result.findings.length,
      notEvaluableCount: result.notEvaluableCount,
    };
  });
  const findings = correlation.findings.map(toModelFinding).sort((a, b) => a.rule.localeCompare(b.rule) || a.id.localeCompare(b.id));
  const controls = buildControlSections({ framework: frameworkCatalogue, rules: ruleCatalogue, ruleResults: rules, findings, sources });
  const populations = await buildPopulations(db, context, correlation, evaluated);
  const statistics = await buildStatistics(db, correlation, evaluated);

  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    framework: input.framework,
    title: `${frameworkCatalogue.title}: access to Metabase through Microsoft Entra ID`,
    period: range(period),
    asOf: asOf.toISOString(),
    generatedAt: input.generatedAt.toISOString(),
    provisional: period.to.getTime() > asOf.getTime(),
    stateObservedAt: iso(correlation.stateObservedAt),
    sources,
    controls,
    rules,
    findings,
    populations,
    statistics,
    methodology: methodology(correlation),
  };
}

function toModelFinding(finding: RuleFinding): Finding {
  return {
    id: finding.id,
    rule: finding.rule,
    severity: finding.severity,
    subject: finding.subject,
    summary: finding.summary,
    firstSeen: iso(finding.firstSeen),
    lastSeen: iso(finding.lastSeen),
    evidence: finding.evidence.map((e) => ({ source: e.source, id: e.id, at: iso(e.at) })),
    detail: finding.detail,
  };
}

async function countAndSpan(db: Kysely<Database>, table: 'entra_sign_in' | 'entra_directory_audit', sourceId: string, period: TimeRange) {
  const { rows } = await sql<{ n: number; first: Date | null; last: Date | null }>`
    select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from ${sql.table(table)}
    where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}`.execute(db);
  return rows[0] ?? { n: 0, first: null, last: null };
}

/** Per source: coverage inside the period and its gaps. A gap is what log-gap calls one:
 *  an uncovered interval longer than its tolerance (a collection that ended minutes
 *  before as-of leaves no gap). */
async function sourceSections(db: Kysely<Database>, correlation: CorrelationResult, period: TimeRange, toleranceMs: number): Promise<SourceSection[]> {
  const { inventory } = correlation;
  const gapsOf = (coverage: TimeRange[]) => gapsIn(period, coverage).filter((gap) => gap.to.getTime() - gap.from.getTime() > toleranceMs).map(range);
  const sections: SourceSection[] = [];
  for (const sourceId of inventory.entraSourceIds) {
    for (const [kind, stream, table] of [
      ['entra-sign-ins', streams.entraSignIns, 'entra_sign_in'],
      ['entra-directory-audits', streams.entraDirectoryAudits, 'entra_directory_audit'],
    ] as const) {
      const coverage = clip(inventory.coverage(sourceId, stream), period);
      const stats = await countAndSpan(db, table, sourceId, period);
      const notes: string[] = [];
      if (kind === 'entra-sign-ins' && inventory.capability(sourceId, capabilities.entraSignInsBeta)?.available === false) notes.push('sign-ins were collected from Graph v1.0: authentication requirement and non-interactive sign-ins are missing');
      if (kind === 'entra-sign-ins' && inventory.capability(sourceId, capabilities.entraRiskFields)?.available === false) notes.push('risk fields are hidden (no Entra ID P2 licence)');
      sections.push({ kind, sourceId, coverage: coverage.map(range), gaps: gapsOf(coverage), records: stats.n, firstRecordAt: iso(stats.first), lastRecordAt: iso(stats.last), notes });
    }
    const { rows } = await sql<{ n: number; first: Date | null; last: Date | null }>`
      select count(*)::int as n, min(observed_at) as first, max(observed_at) as last from snapshot
      where source_id = ${sourceId} and stream = 'entra_user_version' and complete`.execute(db);
    const snapshots = rows[0]!;
    const notes = [`${snapshots.n} complete directory snapshot(s); state at as-of is the latest snapshot at or before it`];
    if (inventory.capability(sourceId, capabilities.entraLeaveDates)?.available === false) notes.push('employeeLeaveDateTime is not readable: leave dates are not used');
    if (correlation.stateObservedAt) notes.push(`no snapshot existed at as-of; the state observed at ${correlation.stateObservedAt.toISOString()} was used`);
    // Directory state has no time coverage: its "gaps" would be meaningless, so none are listed.
    sections.push({ kind: 'entra-directory', sourceId, coverage: [], gaps: [], records: correlation.people, firstRecordAt: iso(snapshots.first), lastRecordAt: iso(snapshots.last), notes });
  }
  const metabaseStreams: [string, string][] = [
    [streams.metabaseLogins, 'login_history'],
    [streams.metabaseQueryExecutions, 'query_execution'],
    [streams.metabaseViews, 'view_log'],
    [streams.metabaseAuditEvents, 'audit_log'],
  ];
  for (const sourceId of inventory.metabaseSourceIds) {
    const notes: string[] = [];
    const lists: TimeRange[][] = [];
    for (const [stream, table] of metabaseStreams) {
      if (inventory.capability(sourceId, capabilities.metabaseTable(table))?.available === false) {
        notes.push(`${table} is not available in this Metabase (edition or version): rules that need it are not evaluable`);
        continue;
      }
      if (stream === streams.metabaseLogins && inventory.capability(sourceId, capabilities.metabaseLoginHistory)?.available === false) {
        notes.push('login history is only in the application database, which was not collected');
        continue;
      }
      lists.push(clip(inventory.coverage(sourceId, stream), period));
      const oldest = inventory.oldestAvailable(sourceId, stream);
      if (oldest && oldest.getTime() > period.from.getTime()) notes.push(`${table}: Metabase kept rows only from ${oldest.toISOString()} (retention)`);
    }
    // What the REST path cannot see (recorded by the API reader), said rather than left out.
    for (const limit of apiLimits) {
      const capability = inventory.capability(sourceId, capabilities.metabaseColumn(limit.table, limit.column));
      if (capability?.available === false && capability.reason) notes.push(`through the API: ${capability.reason}`);
    }
    const coverage = intersect(lists);
    const { rows } = await sql<{ n: number; first: Date | null; last: Date | null }>`
      select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from (
        select occurred_at from metabase_login where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
        union all select occurred_at from metabase_query_execution where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
        union all select occurred_at from metabase_view where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
        union all select occurred_at from metabase_audit_event where source_id = ${sourceId} and occurred_at >= ${period.from} and occurred_at < ${period.to}
      ) x`.execute(db);
    const stats = rows[0]!;
    sections.push({ kind: 'metabase', sourceId, coverage: coverage.map(range), gaps: gapsOf(coverage), records: stats.n, firstRecordAt: iso(stats.first), lastRecordAt: iso(stats.last), notes });
  }
  return sections;
}

async function buildPopulations(db: Kysely<Database>, context: RuleContext, correlation: CorrelationResult, period: TimeRange): Promise<Populations> {
  const { asOf, runId } = context;
  const accountsAt = await context.stateAt('metabase_account_version');

  // Every human account active at any time in the period (not only at as-of).
  const { rows: human } = await sql<{
    source_id: string; account_id: number; email: string | null; is_active: boolean; sso_source: string | null; date_joined: Date | null;
    status: string | null; method: string | null; person_id: string | null; upn: string | null; privileged: boolean;
    first_activity: Date | null; last_activity: Date | null; last_sign_in: Date | null;
  }>`
    with accounts as (
      select a.* from ${accountsAt} a
      where a.present and coalesce(a.is_human, true)
        and (a.date_joined is null or a.date_joined < ${period.to})
        and (a.is_active or a.deactivated_at >= ${period.from})
    ), privileged as ${await privilegedAccountsSql(context)},
    activity as (
      select source_id, account_id, min(occurred_at) as first_at, max(occurred_at) as last_at from (
        select source_id, user_id as account_id, occurred_at from metabase_login where occurred_at >= ${period.from} and occurred_at < ${period.to}
        union all select source_id, executor_id, occurred_at from metabase_query_execution where executor_id is not null and occurred_at >= ${period.from} and occurred_at < ${period.to}
        union all select source_id, user_id, occurred_at from metabase_view where user_id is not null and occurred_at >= ${period.from} and occurred_at < ${period.to}
        union all select source_id, user_id, occurred_at from metabase_audit_event where user_id is not null and occurred_at >= ${period.from} and occurred_at < ${period.to}
      ) x group by source_id, account_id
    ), sign_ins as (
      select user_id, max(occurred_at) as at from entra_sign_in
      where app_id = any(${correlation.inventory.metabaseAppIds}::text[]) and error_code = 0 and occurred_at <= ${asOf}
      group by user_id
    ), people as (
      select distinct on (upstream_id) upstream_id, user_principal_name from entra_user_version where present order by upstream_id, observed_at desc
    )
    select a.source_id, a.upstream_id::bigint as account_id, a.email, (a.is_active or a.deactivated_at > ${asOf}) as is_active, a.sso_source, a.date_joined,
           il.status, il.method, il.person_id, lower(p.user_principal_name) as upn,
           coalesce(pr.via_superuser or pr.via_admin_group, false) as privileged,
           act.first_at as first_activity, act.last_at as last_activity, si.at as last_sign_in
    from accounts a
    left join identity_link il on il.run_id = ${runId} and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    left join privileged pr on pr.source_id = a.source_id and pr.account_id = a.upstream_id::bigint
    left join activity act on act.source_id = a.source_id and act.account_id = a.upstream_id::bigint
    left join sign_ins si on si.user_id = il.person_id
    left join people p on p.upstream_id = il.person_id
    order by a.source_id, a.upstream_id::bigint`.execute(db);
  const humanAccounts: HumanAccountRow[] = human.map((r) => ({
    metabaseSourceId: r.source_id,
    accountId: String(r.account_id),
    email: r.email,
    active: r.is_active,
    ssoSource: r.sso_source,
    linkStatus: r.status ?? 'unmatched',
    linkMethod: r.method,
    personId: r.person_id,
    upn: r.upn,
    privileged: r.privileged,
    dateJoined: iso(r.date_joined),
    firstActivity: iso(r.first_activity),
    lastActivity: iso(r.last_activity),
    lastSignIn: iso(r.last_sign_in),
  }));

  // People terminated during the period, with what happened to their Metabase access.
  const { rows: terminated } = await sql<{
    person_id: string; upn: string | null; started_at: Date; approximate: boolean; reason: string;
    account_id: number | null; is_active: boolean | null; deactivated_at: Date | null; last_activity: Date | null;
  }>`
    with people as (
      select distinct on (upstream_id) upstream_id, user_principal_name from entra_user_version where present order by upstream_id, observed_at desc
    ), accounts as (select * from ${accountsAt} a where a.present)
    select distinct on (i.person_id, i.started_at, i.reason) i.person_id, lower(p.user_principal_name) as upn, i.started_at, i.approximate, i.reason,
           a.upstream_id::bigint as account_id, (a.is_active or a.deactivated_at > ${asOf}) as is_active, a.deactivated_at,
           (select max(x.occurred_at) from (
              select occurred_at from metabase_login where source_id = a.source_id and user_id = a.upstream_id::bigint and occurred_at <= ${asOf}
              union all select occurred_at from metabase_query_execution where source_id = a.source_id and executor_id = a.upstream_id::bigint and occurred_at <= ${asOf}
                and (context is null or context not in (${deliveryList}))
            ) x) as last_activity
    from person_terminated_interval i
    left join people p on p.upstream_id = i.person_id
    left join identity_link il on il.run_id = ${runId} and il.status = 'linked' and il.person_id = i.person_id
    left join accounts a on a.source_id = il.metabase_source_id and a.upstream_id = il.account_id::text
    where i.run_id = ${runId} and i.started_at >= ${period.from} and i.started_at < ${period.to}
    order by i.person_id, i.started_at, i.reason, a.upstream_id`.execute(db);
  const terminatedPeople: TerminatedPersonRow[] = terminated.map((r) => ({
    personId: r.person_id,
    upn: r.upn,
    terminatedAt: new Date(r.started_at).toISOString(),
    approximate: r.approximate,
    reason: r.reason,
    accountState: r.account_id === null ? 'none' : r.is_active ? 'active' : 'deactivated',
    metabaseAccountId: r.account_id === null ? null : String(r.account_id),
    lastActivity: iso(r.last_activity),
    removalLagHours: r.deactivated_at ? Math.round(((new Date(r.deactivated_at).getTime() - new Date(r.started_at).getTime()) / 3_600_000) * 10) / 10 : null,
  }));

  const adminGroups = correlation.inventory.adminGroupIds;
  const entraMembers = await context.stateAt('entra_group_member_version');
  const { rows: privilegedRows } = await sql<{ source_id: string; account_id: number; email: string | null; person_id: string | null; link_status: string | null; via_superuser: boolean; via_admin_group: boolean; in_group: boolean }>`
    select p.source_id, p.account_id, p.email, p.person_id, p.link_status, coalesce(p.via_superuser, false) as via_superuser, p.via_admin_group,
           exists (select 1 from ${entraMembers} e where e.present and e.member_id = p.person_id and e.group_id = any(${adminGroups}::text[])) as in_group
    from ${await privilegedAccountsSql(context)} p
    where p.via_superuser or p.via_admin_group
    order by p.source_id, p.account_id`.execute(db);
  const privileged: PrivilegedRow[] = privilegedRows.map((r) => ({
    metabaseSourceId: r.source_id,
    accountId: String(r.account_id),
    email: r.email,
    personId: r.person_id,
    viaSuperuser: r.via_superuser,
    viaAdminGroup: r.via_admin_group,
    justified: adminGroups.length === 0 ? null : r.link_status === 'linked' && r.in_group,
  }));

  // Privilege changes: superuser flips between consecutive account versions in the period.
  const { rows: changes } = await sql<{ observed_at: Date; upstream_id: string; email: string | null; is_superuser: boolean; previous: boolean | null }>`
    select observed_at, upstream_id, email, is_superuser, previous from (
      select v.observed_at, v.upstream_id, v.email, coalesce(v.is_superuser, false) as is_superuser,
             lag(coalesce(v.is_superuser, false)) over (partition by v.source_id, v.upstream_id order by v.observed_at) as previous
      from metabase_account_version v where v.present and v.observed_at <= ${asOf}
    ) x
    where previous is not null and previous <> is_superuser and observed_at >= ${period.from} and observed_at < ${period.to}
    order by observed_at, upstream_id`.execute(db);
  const privilegeChanges: PrivilegeChangeRow[] = changes.map((r) => ({
    at: new Date(r.observed_at).toISOString(),
    accountId: r.upstream_id,
    email: r.email,
    change: r.is_superuser ? 'granted' : 'revoked',
    evidence: 'metabase account snapshot',
  }));

  const apiKeys = await context.stateAt('metabase_api_key_version');
  const { rows: nonHumanRows } = await sql<{ source_id: string; upstream_id: string; email: string | null; account_type: string | null; owner: string | null; last_use: Date | null }>`
    select a.source_id, a.upstream_id, a.email, a.account_type,
           (select coalesce(c.email, k.creator_id::text) from ${apiKeys} k
              left join ${accountsAt} c on c.source_id = k.source_id and c.upstream_id = k.creator_id::text
              where k.source_id = a.source_id and k.user_id = a.upstream_id::bigint limit 1) as owner,
           (select max(q.occurred_at) from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.upstream_id::bigint and q.occurred_at <= ${asOf}) as last_use
    from ${accountsAt} a
    where a.present and a.is_human = false
    order by a.source_id, a.upstream_id::bigint`.execute(db);
  const nonHuman: NonHumanRow[] = nonHumanRows.map((r) => ({
    metabaseSourceId: r.source_id,
    accountId: r.upstream_id,
    email: r.email,
    kind: r.account_type === 'internal' || r.upstream_id === '13371338' ? 'internal' : 'api-key',
    owner: r.owner,
    lastUse: iso(r.last_use),
  }));

  const entraCredentials = await context.stateAt('entra_credential_version');
  const { rows: credentialRows } = await sql<{ key_id: string; app_id: string | null; owner_kind: string | null; credential_type: string | null; display_name: string | null; start_date_time: Date | null; end_date_time: Date | null }>`
    select key_id, app_id, owner_kind, credential_type, display_name, start_date_time, end_date_time from ${entraCredentials} c
    where c.present order by app_id, owner_kind, key_id`.execute(db);
  const { rows: keyRows } = await sql<{ upstream_id: string; key_prefix: string | null; name: string | null; created_at_source: Date | null }>`
    select upstream_id, key_prefix, name, created_at_source from ${apiKeys} k where k.present order by upstream_id::bigint`.execute(db);
  const credentials: CredentialRow[] = [
    ...credentialRows.map((r) => ({ credentialId: r.key_id, appId: r.app_id, ownerKind: r.owner_kind, type: r.credential_type, displayName: r.display_name, start: iso(r.start_date_time), end: iso(r.end_date_time), source: 'entra' as const })),
    ...keyRows.map((r) => ({ credentialId: r.key_prefix ?? r.upstream_id, appId: null, ownerKind: 'metabase-api-key', type: 'api-key', displayName: r.name, start: iso(r.created_at_source), end: null, source: 'metabase' as const })),
  ];

  const { rows: counts } = await sql<{ human: number; non_human: number }>`
    select count(*) filter (where coalesce(a.is_human, true))::int as human, count(*) filter (where a.is_human = false)::int as non_human
    from ${accountsAt} a where a.present`.execute(db);
  const intervalsInPeriod = new Set(terminated.map((r) => `${r.person_id}|${new Date(r.started_at).toISOString()}|${r.reason}`)).size;
  const reconciliation = [
    { population: 'humanAccounts', count: humanAccounts.length, sourceCount: counts[0]?.human ?? 0, definition: 'human Metabase accounts (core_user, not api-key/internal) active at any time in the period; source count: human accounts in the state at as-of' },
    { population: 'terminatedPeople', count: terminatedPeople.length, sourceCount: intervalsInPeriod, definition: 'terminated intervals starting in the period (directory audits, deletion, leave dates, snapshots), one row per linked account' },
    { population: 'privileged', count: privileged.length, sourceCount: privileged.length, definition: 'active human accounts with is_superuser or membership of the Administrators group at as-of' },
    { population: 'nonHuman', count: nonHuman.length, sourceCount: counts[0]?.non_human ?? 0, definition: 'Metabase accounts of type api-key or internal, or with an @api-key.invalid e-mail, at as-of' },
    { population: 'credentials', count: credentials.length, sourceCount: credentialRows.length + keyRows.length, definition: 'secrets and certificates of the watched Entra applications, and Metabase API keys, at as-of' },
  ];
  return { humanAccounts, terminatedPeople, privileged, privilegeChanges, nonHuman, credentials, reconciliation };
}

async function buildStatistics(db: Kysely<Database>, correlation: CorrelationResult, period: TimeRange): Promise<Statistics> {
  const appIds = correlation.inventory.metabaseAppIds;
  const { rows: weeks } = await sql<{ week: Date; successful: number; failed: number }>`
    select date_trunc('week', occurred_at) as week, count(*) filter (where error_code = 0)::int as successful, count(*) filter (where error_code <> 0)::int as failed
    from entra_sign_in where app_id = any(${appIds}::text[]) and occurred_at >= ${period.from} and occurred_at < ${period.to}
    group by 1 order by 1`.execute(db);
  const { rows: mfa } = await sql<{ mfa: number; known: number }>`
    select count(*) filter (where authentication_requirement = 'multiFactorAuthentication')::int as mfa, count(authentication_requirement)::int as known
    from entra_sign_in where app_id = any(${appIds}::text[]) and error_code = 0 and occurred_at >= ${period.from} and occurred_at < ${period.to}`.execute(db);
  const m = correlation.matches;
  return {
    signInsPerWeek: weeks.map((w) => ({ week: new Date(w.week).toISOString().slice(0, 10), successful: w.successful, failed: w.failed })),
    mfaShare: mfa[0] && mfa[0].known > 0 ? Math.round((mfa[0].mfa / mfa[0].known) * 10_000) / 10_000 : null,
    loginsExplained: { explained: m.explained, unexplained: m.unexplained + m['password-session'] + m.unlinked, notEvaluable: m['not-evaluable'] },
  };
}

function methodology(correlation: CorrelationResult): string[] {
  return [
    'Evidence: Microsoft Entra ID sign-ins (Metabase application ids only), directory audits and directory snapshots were collected through Microsoft Graph; Metabase accounts, groups, logins, sessions, query executions, views and audit events from its application database or API. Every record is stored verbatim with a SHA-256 hash chain (accesstrail verify --store).',
    'Coverage: a source counts as collected only for the time ranges a collection completed; instants outside coverage are reported as not evaluable, never as "nothing happened".',
    'Identity: a Metabase account is linked to an Entra person when its e-mail equals exactly one person\'s UPN, mail, other mails, smtp proxy addresses, earlier UPNs or guest home address (case-insensitive); ambiguous e-mails are not linked; API-key and internal accounts are never linked.',
    `Period and as-of: rules about events consider events in [period start, as-of); rules about state read the latest snapshot at or before as-of (${correlation.asOf.toISOString()}).`,
    'Metabase scheduled deliveries: queries that dashboard subscriptions and alerts run (query_execution.context dashboard-subscription or pulse) run as the subscription\'s owner; they are shown as scheduled deliveries of a subscription owned by that person, not as the person running a query, and do not count as the owner\'s own activity (docs/rules.md).',
    'SSO: a Metabase login is explained by a successful Entra sign-in of the linked person to the Metabase application within the configured window around it; the IP address only breaks ties.',
    'Rules, parameters and the SQL behind every rule are listed in the rules appendix and kept in the accesstrail repository (test/sql).',
    'Integrity: the content hash covers the whole report except its generation instant; the Ed25519 signature covers the content hash and the generation instant.',
  ];
}
