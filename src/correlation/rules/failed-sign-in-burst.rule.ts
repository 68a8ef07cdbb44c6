// failed-sign-in-burst — for one user (by userId; when empty, by lower-cased UPN), at
// least the threshold of failed Metabase app sign-ins (any non-zero error code except
// the interrupts that are not failures of the user) inside one window of the given
// length. Overlapping or touching windows of one user merge into one burst.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// How: a failure opens a qualifying window [t, t + length] when the window holds at
// least `threshold` failures; qualifying windows that overlap or touch are merged
// (gaps and islands); a burst carries every failure inside it.
import { sql } from 'kysely';

import { listParameter, numberParameter } from '../parameters.js';
import type { RuleContext } from '../types.js';
import { entraUserSubject, findingId, findingPerGroup, iso, needsEntraSignIns } from './common.js';
import { defineRule } from './define-rule.js';

const id = 'failed-sign-in-burst';

function statements(context: RuleContext) {
  const threshold = numberParameter(context.parameters, 'threshold');
  const windowLength = `${numberParameter(context.parameters, 'windowMinutes')} minutes`;
  const ignored = listParameter<number>(context.parameters, 'ignoredErrorCodes');
  return {
    bursts: sql<{
      who: string;
      user_id: string | null;
      user_principal_name: string | null;
      burst_start: Date;
      burst_end: Date;
      upstream_id: string;
      occurred_at: Date;
      error_code: number;
    }>`
      with failures as (
        select coalesce(nullif(s.user_id, ''), lower(s.user_principal_name)) as who, s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at, s.error_code
        from entra_sign_in s
        where s.app_id = any(${context.inventory.metabaseAppIds}::text[]) and s.error_code <> 0 and not (s.error_code = any(${ignored}::int[]))
          and s.occurred_at >= ${context.period.from} and s.occurred_at < ${context.period.to}
          and coalesce(nullif(s.user_id, ''), s.user_principal_name) is not null
      ), counted as (
        select f.who, f.occurred_at,
               count(*) over (partition by f.who order by f.occurred_at range between current row and ${windowLength}::interval following) as n
        from failures f
      ), windows as (
        select who, occurred_at as w_start, occurred_at + ${windowLength}::interval as w_end from counted where n >= ${threshold}
      ), marked as (
        select w.*, max(w.w_end) over (partition by w.who order by w.w_start rows between unbounded preceding and 1 preceding) as previous_end
        from windows w
      ), islands as (
        select m.*, sum(case when m.previous_end is not null and m.w_start <= m.previous_end then 0 else 1 end)
                    over (partition by m.who order by m.w_start rows unbounded preceding) as island
        from marked m
      ), bursts as (
        select who, island, min(w_start) as burst_start, max(w_end) as burst_end from islands group by who, island
      )
      select b.who, f.user_id, f.user_principal_name, b.burst_start, b.burst_end, f.upstream_id, f.occurred_at, f.error_code
      from bursts b join failures f on f.who = b.who and f.occurred_at between b.burst_start and b.burst_end
      order by b.who, b.burst_start, f.occurred_at, f.upstream_id`,
  };
}

export const failedSignInBurst = defineRule(id, {
  precondition: needsEntraSignIns,
  statements,
  findings: (context, query) =>
    findingPerGroup(
      context,
      query.bursts,
      (row) => `${row.who}|${new Date(row.burst_start).toISOString()}`,
      (failures) => {
        const first = failures[0]!;
        const personId = first.user_id || null;
        const upn = (personId ? context.directory.personUpn(personId) : null) ?? first.user_principal_name?.toLowerCase() ?? null;
        const codes = [...new Set(failures.map((f) => f.error_code))].sort((a, b) => a - b);
        return {
          id: findingId(id, first.who, new Date(first.burst_start).toISOString()),
          subject: entraUserSubject(personId, upn),
          summary: `${failures.length} failed Metabase sign-ins of ${upn ?? first.who} between ${new Date(failures[0]!.occurred_at).toISOString()} and ${new Date(failures[failures.length - 1]!.occurred_at).toISOString()} (error codes ${codes.join(', ')})`,
          firstSeen: iso(failures[0]!.occurred_at),
          lastSeen: iso(failures[failures.length - 1]!.occurred_at),
          evidence: failures.map((f) => ({ source: 'entra-sign-in', id: f.upstream_id, at: iso(f.occurred_at) })),
          detail: { failures: failures.length, errorCodes: codes },
        };
      },
    ),
});
