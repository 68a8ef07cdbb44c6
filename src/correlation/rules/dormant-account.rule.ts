// dormant-account — at as-of, an active human Metabase account whose last activity
// before as-of (latest of its Metabase activity of any kind, last_login, and successful
// Metabase app sign-ins of the linked person) is older than the threshold or never
// happened, and which was created before as-of minus the threshold.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumption: last_login is Metabase's own record of every successful login, so
// dormancy is judged even where the log tables were not collected. Scheduled deliveries
// (subscription and alert sends, which run as their owner) are not the owner's activity.
import { sql } from 'kysely';

import { numberParameter } from '../parameters.js';
import type { RuleContext } from '../types.js';
import {
  accountFinding,
  activeHumanAccounts,
  days,
  deliveryList,
  findingPerRow,
  iso,
  linkedPerson,
  needsMetabaseAccounts,
} from './common.js';
import { defineRule } from './define-rule.js';

const id = 'dormant-account';

async function statements(context: RuleContext) {
  const thresholdDays = numberParameter(context.parameters, 'thresholdDays');
  const cutoff = new Date(context.asOf.getTime() - thresholdDays * 86_400_000);
  const asOf = context.asOf;
  const appIds = context.inventory.metabaseAppIds;
  // An account is dormant when none of its activity lies in [cutoff, as-of]: each
  // account in use is dismissed by the first probe that finds some (most by the first,
  // last_login or one index read of its logins), and only the dormant ones have their
  // last activity read, by index probes (source, user, time) as well. This is exactly
  // "last activity (latest of these, each at or before as-of) is null or older than the
  // cutoff".
  return {
    dormant: sql<{
      source_id: string;
      account_id: number;
      email: string | null;
      person_id: string | null;
      date_joined: Date | null;
      last_activity: Date | null;
    }>`
      with accounts as ${await activeHumanAccounts(context)},
      dormant as (
        select a.* from accounts a
        where a.date_joined < ${cutoff}
          and not (
            coalesce(a.last_login >= ${cutoff} and a.last_login <= ${asOf}, false)
            or exists (select 1 from metabase_login l where l.source_id = a.source_id and l.user_id = a.account_id and l.occurred_at >= ${cutoff} and l.occurred_at <= ${asOf})
            or (a.link_status = 'linked' and exists (
              select 1 from entra_sign_in s
              where s.user_id = a.person_id and s.app_id = any(${appIds}::text[]) and s.error_code = 0 and s.occurred_at >= ${cutoff} and s.occurred_at <= ${asOf}
            )) is true
            or exists (select 1 from metabase_view v where v.source_id = a.source_id and v.user_id = a.account_id and v.occurred_at >= ${cutoff} and v.occurred_at <= ${asOf})
            or exists (select 1 from metabase_audit_event e where e.source_id = a.source_id and e.user_id = a.account_id and e.occurred_at >= ${cutoff} and e.occurred_at <= ${asOf})
            or exists (select 1 from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.account_id and q.occurred_at >= ${cutoff} and q.occurred_at <= ${asOf}
              and (q.context is null or q.context not in (${deliveryList})))
          )
      )
      select a.source_id, a.account_id, a.email, a.person_id, a.date_joined, greatest(
          (select max(l.occurred_at) from metabase_login l where l.source_id = a.source_id and l.user_id = a.account_id and l.occurred_at <= ${asOf}),
          (select max(q.occurred_at) from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.account_id and q.occurred_at <= ${asOf} and (q.context is null or q.context not in (${deliveryList}))),
          (select max(v.occurred_at) from metabase_view v where v.source_id = a.source_id and v.user_id = a.account_id and v.occurred_at <= ${asOf}),
          (select max(e.occurred_at) from metabase_audit_event e where e.source_id = a.source_id and e.user_id = a.account_id and e.occurred_at <= ${asOf}),
          case when a.last_login <= ${asOf} then a.last_login end,
          case when a.link_status = 'linked' then (
            select max(s.occurred_at) from entra_sign_in s
            where s.user_id = a.person_id and s.app_id = any(${appIds}::text[]) and s.error_code = 0 and s.occurred_at <= ${asOf}
          ) end
        ) as last_activity
      from dormant a
      order by a.source_id, a.account_id`,
  };
}

export const dormantAccount = defineRule(id, {
  precondition: needsMetabaseAccounts,
  statements,
  findings(context, query) {
    const thresholdDays = numberParameter(context.parameters, 'thresholdDays');
    return findingPerRow(context, query.dormant, (row) => {
      const last = iso(row.last_activity);
      return accountFinding(id, row, linkedPerson(context, row.person_id), {
        summary: last
          ? `Metabase account ${row.email ?? row.account_id} has not been used for ${days(context.asOf.getTime() - last.getTime())} days (threshold ${thresholdDays})`
          : `Metabase account ${row.email ?? row.account_id} has never been used (created ${iso(row.date_joined)?.toISOString().slice(0, 10) ?? 'unknown'})`,
        firstSeen: iso(row.date_joined),
        lastSeen: last,
        evidenceAt: last,
        detail: { lastActivity: last?.toISOString() ?? null, thresholdDays },
      });
    });
  },
});
