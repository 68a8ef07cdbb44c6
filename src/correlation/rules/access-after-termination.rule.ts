// access-after-termination — Metabase activity by a linked person inside one of the
// person's terminated intervals, later than the interval start plus the grace.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumptions: activity = login_history, query_execution by executor, view_log and
// audit_log rows (rules.md); intervals come from person_terminated_interval of the run;
// "later than" is strict and the interval end is included (closed windows). Scheduled
// deliveries (kind metabase-scheduled-delivery: subscription/alert sends run as their
// owner) stay in the finding as their own detail, never counted as the person's use.
import { sql } from 'kysely';

import { numberParameter } from '../parameters.js';
import type { RuleContext } from '../types.js';
import { accountActivity, findingId, groupBy, iso } from './common.js';
import { defineRule, evaluated, notEvaluable } from './define-rule.js';

const id = 'access-after-termination';

function statements(context: RuleContext) {
  const grace = `${numberParameter(context.parameters, 'graceMinutes')} minutes`;
  return {
    // Driven by the run's intervals (hundreds): each linked account's activity is read by
    // index ranges inside the interval, not the period's activity joined to the intervals
    // (4.4 s at 5M query executions, issue 13; tens of milliseconds this way).
    events: sql<{
      person_id: string;
      source_id: string;
      account_id: number;
      kind: string;
      upstream_id: string;
      occurred_at: Date;
      started_at: Date;
      reason: string;
    }>`
      select l.person_id, a.source_id, a.account_id, a.kind, a.upstream_id, a.occurred_at, i.started_at, i.reason
      from person_terminated_interval i
      join identity_link l on l.run_id = ${context.runId} and l.status = 'linked' and l.person_id = i.person_id
      cross join lateral ${accountActivity(
        { source: sql.raw('l.metabase_source_id'), id: sql.raw('l.account_id') },
        context.period.from,
        context.period.to,
        sql`occurred_at > i.started_at + ${grace}::interval and (i.ended_at is null or occurred_at <= i.ended_at)`,
      )} a
      where i.run_id = ${context.runId}
      order by l.person_id, a.occurred_at, a.kind, a.upstream_id`,
  };
}

export const accessAfterTermination = defineRule(id, {
  precondition(context) {
    if (context.inventory.metabaseSourceIds.length === 0) {
      return notEvaluable('no Metabase activity has been collected');
    }
    if (context.inventory.entraSourceIds.length === 0) {
      return notEvaluable('no Entra directory data has been collected, so terminations are unknown');
    }
    return null;
  },
  statements,
  async findings(context, query) {
    const { rows } = await query.events.execute(context.db);
    const findings = groupBy(rows, (row) => row.person_id).map((events) => {
      const personId = events[0]!.person_id;
      // One interval start per event; the same event may fall in two overlapping intervals.
      const unique = [...new Map(events.map((e) => [`${e.kind}|${e.upstream_id}`, e])).values()];
      const first = unique[0]!;
      const last = unique[unique.length - 1]!;
      const terminatedAt = iso(events.map((e) => e.started_at).sort((a, b) => new Date(a).getTime() - new Date(b).getTime())[0])!;
      const lagHours = (new Date(last.occurred_at).getTime() - terminatedAt.getTime()) / 3_600_000;
      const upn = context.directory.personUpn(personId);
      const deliveries = unique.filter((e) => e.kind === 'metabase-scheduled-delivery').length;
      const uses = unique.length - deliveries;
      const lastUse = [...unique].reverse().find((e) => e.kind !== 'metabase-scheduled-delivery');
      const useLagHours = lastUse ? (new Date(lastUse.occurred_at).getTime() - terminatedAt.getTime()) / 3_600_000 : lagHours;
      const who = upn ?? personId;
      const summary =
        uses === 0
          ? `${deliveries} scheduled delivery(ies) of subscriptions or alerts owned by ${who} ran after ${who} was terminated (${first.reason}) on ${terminatedAt.toISOString()}; no use by ${who} themselves; last ${Math.round(lagHours)} h after termination`
          : `${who} used Metabase ${uses} time(s) after being terminated (${first.reason}) on ${terminatedAt.toISOString()}; last use ${Math.round(useLagHours)} h after termination${deliveries ? `; plus ${deliveries} scheduled delivery(ies) of subscriptions or alerts owned by ${who}` : ''}`;
      return {
        id: findingId(id, personId),
        subject: {
          personId,
          upn,
          metabaseAccountId: String(first.account_id),
          email: context.directory.accountEmail(first.source_id, first.account_id),
          credentialId: null,
          source: first.source_id,
        },
        summary,
        firstSeen: iso(first.occurred_at),
        lastSeen: iso(last.occurred_at),
        evidence: unique.map((e) => ({ source: e.kind, id: e.upstream_id, at: iso(e.occurred_at) })),
        detail: {
          terminatedAt: terminatedAt.toISOString(),
          terminationReason: first.reason,
          lagHours: Math.round(lagHours * 10) / 10,
          events: unique.length,
          uses,
          scheduledDeliveries: deliveries,
        },
      };
    });
    return evaluated(findings);
  },
});
