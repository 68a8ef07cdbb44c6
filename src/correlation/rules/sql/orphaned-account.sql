-- orphaned-account: Orphaned account
-- Severity high; controls CC6.2, A.5.16, A.5.18 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/orphaned-account.rule.ts
-- Parameters: none
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: orphans
-- $1 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $2 = 1
-- $3 = 2026-10-01T00:00:00.000Z
-- $4 = 2026-10-01T00:00:00.000Z
-- $5 = 1
-- $6 = 2026-10-01T00:00:00.000Z
-- $7 = 2026-10-01T00:00:00.000Z
select distinct on (a.source_id, a.account_id) a.source_id, a.account_id, a.email, a.person_id, i.started_at, i.reason
from (
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
) a
join person_terminated_interval i on i.run_id = $5 and i.person_id = a.person_id
  and i.started_at <= $6 and (i.ended_at is null or i.ended_at > $7)
where a.link_status = 'linked'
order by a.source_id, a.account_id, i.started_at;
