-- access-after-termination: Access after termination
-- Severity high; controls CC6.2, CC6.3, A.5.16, A.5.18 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/access-after-termination.rule.ts
-- Parameters: graceMinutes = 0
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: events
-- $1 = 1
-- $2 = 2026-07-01T00:00:00.000Z
-- $3 = 2026-10-01T00:00:00.000Z
-- $4 = '0 minutes'
-- $5 = 2026-07-01T00:00:00.000Z
-- $6 = 2026-10-01T00:00:00.000Z
-- $7 = '0 minutes'
-- $8 = 2026-07-01T00:00:00.000Z
-- $9 = 2026-10-01T00:00:00.000Z
-- $10 = '0 minutes'
-- $11 = 2026-07-01T00:00:00.000Z
-- $12 = 2026-10-01T00:00:00.000Z
-- $13 = '0 minutes'
-- $14 = 1
select l.person_id, a.source_id, a.account_id, a.kind, a.upstream_id, a.occurred_at, i.started_at, i.reason
from person_terminated_interval i
join identity_link l on l.run_id = $1 and l.status = 'linked' and l.person_id = i.person_id
cross join lateral (
  select source_id, user_id as account_id, occurred_at, 'metabase-login' as kind, upstream_id from metabase_login
  where source_id = l.metabase_source_id and user_id = l.account_id and occurred_at >= $2 and occurred_at < $3
    and occurred_at > i.started_at + $4::interval and (i.ended_at is null or occurred_at <= i.ended_at)
  union all
  select source_id, executor_id, occurred_at, case when context in ('pulse', 'dashboard-subscription') then 'metabase-scheduled-delivery' else 'metabase-query-execution' end, upstream_id from metabase_query_execution
  where source_id = l.metabase_source_id and executor_id = l.account_id and occurred_at >= $5 and occurred_at < $6
    and occurred_at > i.started_at + $7::interval and (i.ended_at is null or occurred_at <= i.ended_at)
  union all
  select source_id, user_id, occurred_at, 'metabase-view', upstream_id from metabase_view
  where source_id = l.metabase_source_id and user_id = l.account_id and occurred_at >= $8 and occurred_at < $9
    and occurred_at > i.started_at + $10::interval and (i.ended_at is null or occurred_at <= i.ended_at)
  union all
  select source_id, user_id, occurred_at, 'metabase-audit-event', upstream_id from metabase_audit_event
  where source_id = l.metabase_source_id and user_id = l.account_id and occurred_at >= $11 and occurred_at < $12
    and occurred_at > i.started_at + $13::interval and (i.ended_at is null or occurred_at <= i.ended_at)
) a
where i.run_id = $14
order by l.person_id, a.occurred_at, a.kind, a.upstream_id;
