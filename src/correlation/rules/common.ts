// Pieces shared by the rule files: finding ids, the Metabase activity union, the
// accounts active at as-of, the common "needs source X" checks, and what several rules do
// alike when turning rows into findings (one finding per row or group, the account rules'
// findings, the sign-in rules' findings and their judgement of a field exports may lack),
// so that each rule file reads as what is its own.
import { createHash } from 'node:crypto';

import { type RawBuilder, sql } from 'kysely';

import type { FindingSubject, RuleContext } from '../types.js';
import { evaluated, type FindingDraft, notEvaluable, type OutcomeDraft } from './define-rule.js';

/** Deterministic: the same rule and subject give the same id in every run and report. */
export function findingId(rule: string, ...key: (string | number | null | undefined)[]): string {
  return `${rule}-${createHash('sha256')
    .update([rule, ...key.map((part) => String(part ?? ''))].join('|'))
    .digest('hex')
    .slice(0, 16)}`;
}

/** query_execution.context values of scheduled deliveries: alerts (and legacy pulses) run
 *  with `pulse`, dashboard subscriptions with `dashboard-subscription`, both under the
 *  owner as current user (metabase/metabase src/metabase/lib/schema/info.cljc @02f3a381;
 *  notification/payload/execute.clj @00652a13, "executed under pulse's creator
 *  permissions"). They are the owner's schedule running, not the owner acting. */
export const SCHEDULED_DELIVERY_CONTEXTS = ['pulse', 'dashboard-subscription'] as const;
/** The same list as SQL literals (constants, not parameters: the compiled SQL stays stable). */
export const deliveryList = sql.raw(SCHEDULED_DELIVERY_CONTEXTS.map((c) => `'${c}'`).join(', '));

/** Every Metabase activity row (rules.md, "Metabase activity") of ONE account, the
 *  columns `account.source` and `account.id` of an outer row, in [from, to) and where
 *  `when` (a condition on `occurred_at`) holds: for a lateral join. Each branch is a range
 *  of the table's (source, user, time) index, so it reads only that account's rows of the
 *  window (issue 13: aggregating every activity row of the period and joining it to the
 *  accounts took seconds at 5M query executions). Scheduled deliveries keep their own
 *  kind, `metabase-scheduled-delivery`. */
export function accountActivity(
  account: { source: RawBuilder<unknown>; id: RawBuilder<unknown> },
  from: Date,
  to: Date,
  when: RawBuilder<unknown>,
): RawBuilder<unknown> {
  const where = (accountColumn: string) =>
    sql`where source_id = ${account.source} and ${sql.raw(accountColumn)} = ${account.id} and occurred_at >= ${from} and occurred_at < ${to}
      and ${when}`;
  return sql`(
    select source_id, user_id as account_id, occurred_at, 'metabase-login' as kind, upstream_id from metabase_login
    ${where('user_id')}
    union all
    select source_id, executor_id, occurred_at, case when context in (${deliveryList}) then 'metabase-scheduled-delivery' else 'metabase-query-execution' end, upstream_id from metabase_query_execution
    ${where('executor_id')}
    union all
    select source_id, user_id, occurred_at, 'metabase-view', upstream_id from metabase_view
    ${where('user_id')}
    union all
    select source_id, user_id, occurred_at, 'metabase-audit-event', upstream_id from metabase_audit_event
    ${where('user_id')}
  )`;
}

/** `from … where …` of the successful Metabase app sign-ins in the period (alias s). */
export function successfulAppSignInsInPeriod(context: RuleContext): RawBuilder<unknown> {
  return sql`from entra_sign_in s where s.app_id = any(${context.inventory.metabaseAppIds}::text[]) and s.error_code = 0
    and s.occurred_at >= ${context.period.from} and s.occurred_at < ${context.period.to}`;
}

/** Human Metabase accounts active at as-of, with their link of this run. An account
 *  deactivated after as-of was still active at as-of (state observed later). */
export async function activeHumanAccounts(context: RuleContext): Promise<RawBuilder<unknown>> {
  const accounts = await context.stateAt('metabase_account_version');
  return sql`(
    select a.source_id, a.upstream_id::bigint as account_id, a.email, a.is_superuser, a.sso_source, a.date_joined, a.last_login,
           il.status as link_status, il.person_id, il.method as link_method, il.candidates
    from ${accounts} a
    left join identity_link il on il.run_id = ${context.runId} and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    where a.present and coalesce(a.is_human, true)
      and (a.is_active or a.deactivated_at > ${context.asOf})
      and (a.date_joined is null or a.date_joined <= ${context.asOf})
  )`;
}

/** Rows grouped by a key, groups and rows in their original order. */
export function groupBy<T>(rows: readonly T[], key: (row: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group) group.push(row);
    else groups.set(k, [row]);
  }
  return [...groups.values()];
}

export const iso = (value: Date | string | null | undefined): Date | null =>
  value === null || value === undefined ? null : new Date(value);

export const days = (ms: number) => Math.floor(ms / 86_400_000);

/** A finding's subject; what is not named is null (keys in the order stored). */
export function subjectOf(named: Partial<FindingSubject>): FindingSubject {
  return {
    personId: named.personId ?? null,
    upn: named.upn ?? null,
    metabaseAccountId: named.metabaseAccountId ?? null,
    email: named.email ?? null,
    credentialId: named.credentialId ?? null,
    source: named.source ?? null,
  };
}

/** The person linked to an account, as a finding names them (null when unlinked). */
export function linkedPerson(context: RuleContext, personId: string | null): { personId: string | null; upn: string | null } {
  return { personId, upn: personId ? context.directory.personUpn(personId) : null };
}

/** A finding of an account rule (orphaned, unlinked, dormant, unjustified privilege): one
 *  Metabase account at as-of. Its id comes from the rule and the account, its subject is the
 *  account with the person linked to it, and its evidence is the account record itself, so
 *  every account rule names an account the same way in reports and across runs. */
export function accountFinding(
  rule: string,
  account: { source_id: string; account_id: number | string; email: string | null },
  person: { personId: string | null; upn: string | null },
  finding: { summary: string; firstSeen: Date | null; lastSeen: Date | null; evidenceAt: Date | null; detail: Record<string, unknown> },
): FindingDraft {
  return {
    id: findingId(rule, account.source_id, account.account_id),
    subject: subjectOf({ ...person, metabaseAccountId: String(account.account_id), email: account.email, source: account.source_id }),
    summary: finding.summary,
    firstSeen: finding.firstSeen,
    lastSeen: finding.lastSeen,
    evidence: [{ source: 'metabase-account', id: String(account.account_id), at: finding.evidenceAt }],
    detail: finding.detail,
  };
}

/** The subject of a finding about an Entra user's sign-ins. */
export const entraUserSubject = (personId: string | null, upn: string | null): FindingSubject =>
  subjectOf({ personId, upn, source: 'entra' });

/** Preconditions of rules: the outcome when a source the rule reads was never collected. */
export const needsEntraSignIns = (context: RuleContext): OutcomeDraft | null =>
  context.inventory.entraSourceIds.length === 0 ? notEvaluable('no Entra sign-ins have been collected') : null;

export const needsMetabaseAccounts = (context: RuleContext): OutcomeDraft | null =>
  context.inventory.metabaseSourceIds.length === 0 ? notEvaluable('no Metabase accounts have been collected') : null;

export const needsMetabaseAccountsAndEntraDirectory = (context: RuleContext): OutcomeDraft | null =>
  context.inventory.metabaseSourceIds.length === 0 || context.inventory.entraSourceIds.length === 0
    ? notEvaluable('needs both Metabase accounts and Entra directory data')
    : null;

/** The outcome of a rule judged entirely by the rows of one statement, one finding per
 *  row: once the precondition held, nothing is left not evaluable. */
export async function findingPerRow<R>(
  context: RuleContext,
  statement: RawBuilder<R>,
  finding: (row: R) => FindingDraft,
): Promise<OutcomeDraft> {
  const { rows } = await statement.execute(context.db);
  return evaluated(rows.map(finding));
}

/** The same, one finding per group of rows sharing a key (groups in the order of their first row). */
export async function findingPerGroup<R>(
  context: RuleContext,
  statement: RawBuilder<R>,
  key: (row: R) => string,
  finding: (rows: R[]) => FindingDraft,
): Promise<OutcomeDraft> {
  const { rows } = await statement.execute(context.db);
  return evaluated(groupBy(rows, key).map(finding));
}

/** The columns of a sign-in every sign-in rule's flagging statement selects. */
type SignInRow = { user_id: string; user_principal_name: string | null; upstream_id: string; occurred_at: Date };

/** The sign-in rules' findings: one per person, from their sign-ins of the period (rows
 *  ordered by person, then time), with every sign-in as evidence. */
export function signInFindings<T extends SignInRow>(
  context: RuleContext,
  rule: string,
  rows: readonly T[],
  summary: (signIns: T[], who: string) => string,
): FindingDraft[] {
  return groupBy(rows, (row) => row.user_id).map((signIns) => {
    const personId = signIns[0]!.user_id;
    const upn = context.directory.personUpn(personId) ?? signIns[0]!.user_principal_name;
    return {
      id: findingId(rule, personId),
      subject: entraUserSubject(personId, upn),
      summary: summary(signIns, upn ?? personId),
      firstSeen: iso(signIns[0]!.occurred_at),
      lastSeen: iso(signIns[signIns.length - 1]!.occurred_at),
      evidence: signIns.map((s) => ({ source: 'entra-sign-in', id: s.upstream_id, at: iso(s.occurred_at) })),
      detail: { count: signIns.length },
    };
  });
}

/** The outcome of a sign-in rule that judges one field of the period's sign-ins
 *  (authenticationRequirement, the risk fields), which exports without that column and
 *  Graph v1.0 do not carry. When no sign-in carries it the rule is not evaluable, never
 *  "0 findings"; else the flagged sign-ins make one finding per person and the sign-ins
 *  without the field count as not evaluable. `counts` is the rule's count statement's row
 *  (the outcome's detail), `carrying` how many of its `total` carry the field;
 *  `unavailable`: the field cannot have been collected, even with no sign-in to show it. */
export async function signInFieldOutcome<C extends { total: number }, T extends SignInRow>(
  context: RuleContext,
  rule: string,
  field: { counts: C; carrying: number; unavailable?: boolean; missing: string },
  flagged: RawBuilder<T>,
  summary: (signIns: T[], who: string) => string,
): Promise<OutcomeDraft> {
  const { counts, carrying } = field;
  if ((counts.total > 0 && carrying === 0) || field.unavailable) {
    return notEvaluable(field.missing, { notEvaluableCount: counts.total, detail: counts });
  }
  const { rows } = await flagged.execute(context.db);
  return evaluated(signInFindings(context, rule, rows, summary), { notEvaluableCount: counts.total - carrying, detail: counts });
}
