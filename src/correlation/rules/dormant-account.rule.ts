// dormant-account — at as-of, an active human Metabase account whose last activity
// before as-of (latest of its Metabase activity of any kind, last_login, and successful
// Metabase app sign-ins of the linked person) is older than the threshold or never
// happened, and which was created before as-of minus the threshold.
// Controls: CC6.2, A.5.18. Severity low.
// Assumption: last_login is Metabase's own record of every successful login, so
// dormancy is judged even where the log tables were not collected.
import { sql } from 'kysely';
import { numberParameter } from '../parameters.js';
import type { Rule, RuleContext, RuleOutcome } from '../types.js';
import { activeHumanAccounts, compileStatements, days, findingId, iso } from './common.js';

const id = 'dormant-account';

async function statements(context: RuleContext) {
  const thresholdDays = numberParameter(context.parameters, 'thresholdDays', 90);
  const cutoff = new Date(context.asOf.getTime() - thresholdDays * 86_400_000);
  const epoch = new Date(0);
  return {
    dormant: sql<{ source_id: string; account_id: number; email: string | null; person_id: string | null; date_joined: Date | null; last_activity: Date | null }>`
      with accounts as ${await activeHumanAccounts(context)},
      activity as (
        select x.source_id, x.account_id, max(x.occurred_at) as at
        from ${activityForDormancy(epoch, context.asOf)} x
        group by x.source_id, x.account_id
      ),
      sign_ins as (
        select s.user_id, max(s.occurred_at) as at from entra_sign_in s
        where s.app_id = any(${context.inventory.metabaseAppIds}::text[]) and s.error_code = 0 and s.occurred_at <= ${context.asOf}
        group by s.user_id
      )
      select a.source_id, a.account_id, a.email, a.person_id, a.date_joined,
             nullif(greatest(coalesce(act.at, '-infinity'), coalesce(case when a.last_login <= ${context.asOf} then a.last_login end, '-infinity'), coalesce(si.at, '-infinity')), '-infinity') as last_activity
      from accounts a
      left join activity act on act.source_id = a.source_id and act.account_id = a.account_id
      left join sign_ins si on a.link_status = 'linked' and si.user_id = a.person_id
      where a.date_joined < ${cutoff}
        and coalesce(greatest(act.at, case when a.last_login <= ${context.asOf} then a.last_login end, si.at), '-infinity') < ${cutoff}
      order by a.source_id, a.account_id`,
  };
}

function activityForDormancy(from: Date, asOf: Date) {
  return sql`(
    select source_id, user_id as account_id, occurred_at from metabase_login where occurred_at >= ${from} and occurred_at <= ${asOf}
    union all select source_id, executor_id, occurred_at from metabase_query_execution where executor_id is not null and occurred_at >= ${from} and occurred_at <= ${asOf}
    union all select source_id, user_id, occurred_at from metabase_view where user_id is not null and occurred_at >= ${from} and occurred_at <= ${asOf}
    union all select source_id, user_id, occurred_at from metabase_audit_event where user_id is not null and occurred_at >= ${from} and occurred_at <= ${asOf}
  )`;
}

export const dormantAccount: Rule = {
  id,
  severity: 'low',
  async statements(context) {
    return compileStatements(context, await statements(context));
  },
  async evaluate(context): Promise<RuleOutcome> {
    if (context.inventory.metabaseSourceIds.length === 0) return { status: 'not-evaluable', reason: 'no Metabase accounts have been collected', findings: [], notEvaluableCount: 0, detail: {} };
    const thresholdDays = numberParameter(context.parameters, 'thresholdDays', 90);
    const { rows } = await (await statements(context)).dormant.execute(context.db);
    const findings = rows.map((row) => {
      const last = iso(row.last_activity);
      const upn = row.person_id ? context.directory.personUpn(row.person_id) : null;
      return {
        id: findingId(id, row.source_id, row.account_id),
        rule: id,
        severity: 'low' as const,
        subject: { personId: row.person_id, upn, metabaseAccountId: String(row.account_id), email: row.email, credentialId: null, source: row.source_id },
        summary: last
          ? `Metabase account ${row.email ?? row.account_id} has not been used for ${days(context.asOf.getTime() - last.getTime())} days (threshold ${thresholdDays})`
          : `Metabase account ${row.email ?? row.account_id} has never been used (created ${iso(row.date_joined)?.toISOString().slice(0, 10) ?? 'unknown'})`,
        firstSeen: iso(row.date_joined),
        lastSeen: last,
        evidence: [{ source: 'metabase-account', id: String(row.account_id), at: last }],
        detail: { lastActivity: last?.toISOString() ?? null, thresholdDays },
      };
    });
    return { status: 'evaluated', reason: null, findings, notEvaluableCount: 0, detail: {} };
  },
};
