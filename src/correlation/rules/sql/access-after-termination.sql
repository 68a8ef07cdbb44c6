-- access-after-termination: Access after termination
-- Severity high; controls CC6.2, CC6.3, A.5.16, A.5.18 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/access-after-termination.rule.ts
-- Parameters: graceMinutes = 0
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: events
-- $1 = 2026-07-01T00:00:00.000Z
-- $2 = 2026-10-01T00:00:00.000Z
-- $3 = 2026-07-01T00:00:00.000Z
-- $4 = 2026-10-01T00:00:00.000Z
-- $5 = 2026-07-01T00:00:00.000Z
-- $6 = 2026-10-01T00:00:00.000Z
-- $7 = 2026-07-01T00:00:00.000Z
-- $8 = 2026-10-01T00:00:00.000Z
-- $9 = 1
-- $10 = 1
-- $11 = '0 minutes'
select l.person_id, a.source_id, a.account_id, a.kind, a.upstream_id, a.occurred_at, i.started_at, i.reason
from (
  select source_id, user_id as account_id, occurred_at, 'metabase-login' as kind, upstream_id from metabase_login where occurred_at >= $1 and occurred_at < $2
  union all
  select source_id, executor_id, occurred_at, case when context in ('pulse', 'dashboard-subscription') then 'metabase-scheduled-delivery' else 'metabase-query-execution' end, upstream_id from metabase_query_execution where executor_id is not null and occurred_at >= $3 and occurred_at < $4
  union all
  select source_id, user_id, occurred_at, 'metabase-view', upstream_id from metabase_view where user_id is not null and occurred_at >= $5 and occurred_at < $6
  union all
  select source_id, user_id, occurred_at, 'metabase-audit-event', upstream_id from metabase_audit_event where user_id is not null and occurred_at >= $7 and occurred_at < $8
) a
join identity_link l on l.run_id = $9 and l.status = 'linked'
  and l.metabase_source_id = a.source_id and l.account_id = a.account_id
join person_terminated_interval i on i.run_id = $10 and i.person_id = l.person_id
  and a.occurred_at > i.started_at + $11::interval
  and (i.ended_at is null or a.occurred_at <= i.ended_at)
order by l.person_id, a.occurred_at, a.kind, a.upstream_id;
