-- dormant-account: Dormant account
-- Severity low; controls CC6.2, A.5.18 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/dormant-account.rule.ts
-- Parameters: thresholdDays = 90
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: dormant
-- $1 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $2 = 1
-- $3 = 2026-10-01T00:00:00.000Z
-- $4 = 2026-10-01T00:00:00.000Z
-- $5 = 2026-07-03T00:00:00.000Z
-- $6 = 2026-07-03T00:00:00.000Z
-- $7 = 2026-10-01T00:00:00.000Z
-- $8 = 2026-07-03T00:00:00.000Z
-- $9 = 2026-10-01T00:00:00.000Z
-- $10 = ["11111111-1111-1111-1111-111111111111"]
-- $11 = 2026-07-03T00:00:00.000Z
-- $12 = 2026-10-01T00:00:00.000Z
-- $13 = 2026-07-03T00:00:00.000Z
-- $14 = 2026-10-01T00:00:00.000Z
-- $15 = 2026-07-03T00:00:00.000Z
-- $16 = 2026-10-01T00:00:00.000Z
-- $17 = 2026-07-03T00:00:00.000Z
-- $18 = 2026-10-01T00:00:00.000Z
-- $19 = 2026-10-01T00:00:00.000Z
-- $20 = 2026-10-01T00:00:00.000Z
-- $21 = 2026-10-01T00:00:00.000Z
-- $22 = 2026-10-01T00:00:00.000Z
-- $23 = 2026-10-01T00:00:00.000Z
-- $24 = ["11111111-1111-1111-1111-111111111111"]
-- $25 = 2026-10-01T00:00:00.000Z
with accounts as (
  select a.source_id, a.upstream_id::bigint as account_id, a.email, a.is_superuser, a.sso_source, a.date_joined, a.last_login,
    il.status as link_status, il.person_id, il.method as link_method, il.candidates
  from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_account_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) a
  left join identity_link il on il.run_id = $2 and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
  where a.present and coalesce(a.is_human, true)
    and (a.is_active or a.deactivated_at > $3)
    and (a.date_joined is null or a.date_joined <= $4)
),
dormant as (
  select a.* from accounts a
  where a.date_joined < $5
    and not (
        coalesce(a.last_login >= $6 and a.last_login <= $7, false)
        or exists (select 1 from metabase_login l where l.source_id = a.source_id and l.user_id = a.account_id and l.occurred_at >= $8 and l.occurred_at <= $9)
        or (a.link_status = 'linked' and exists (
          select 1 from entra_sign_in s
          where s.user_id = a.person_id and s.app_id = any($10::text[]) and s.error_code = 0 and s.occurred_at >= $11 and s.occurred_at <= $12
        )) is true
        or exists (select 1 from metabase_view v where v.source_id = a.source_id and v.user_id = a.account_id and v.occurred_at >= $13 and v.occurred_at <= $14)
        or exists (select 1 from metabase_audit_event e where e.source_id = a.source_id and e.user_id = a.account_id and e.occurred_at >= $15 and e.occurred_at <= $16)
        or exists (select 1 from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.account_id and q.occurred_at >= $17 and q.occurred_at <= $18
            and (q.context is null or q.context not in ('pulse', 'dashboard-subscription')))
    )
)
select a.source_id, a.account_id, a.email, a.person_id, a.date_joined, greatest(
    (select max(l.occurred_at) from metabase_login l where l.source_id = a.source_id and l.user_id = a.account_id and l.occurred_at <= $19),
    (select max(q.occurred_at) from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.account_id and q.occurred_at <= $20 and (q.context is null or q.context not in ('pulse', 'dashboard-subscription'))),
    (select max(v.occurred_at) from metabase_view v where v.source_id = a.source_id and v.user_id = a.account_id and v.occurred_at <= $21),
    (select max(e.occurred_at) from metabase_audit_event e where e.source_id = a.source_id and e.user_id = a.account_id and e.occurred_at <= $22),
    case when a.last_login <= $23 then a.last_login end,
    case when a.link_status = 'linked' then (
      select max(s.occurred_at) from entra_sign_in s
      where s.user_id = a.person_id and s.app_id = any($24::text[]) and s.error_code = 0 and s.occurred_at <= $25
    ) end
) as last_activity
from dormant a
order by a.source_id, a.account_id;
