-- unjustified-privilege: Unjustified administrator
-- Severity high; controls CC6.3, A.8.2 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/unjustified-privilege.rule.ts
-- Parameters: adminGroupIds = ["22222222-2222-2222-2222-222222222222"]
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: unjustified
-- $1 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $2 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $3 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $4 = 1
-- $5 = 2026-10-01T00:00:00.000Z
-- $6 = 2026-10-01T00:00:00.000Z
-- $7 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $8 = ["22222222-2222-2222-2222-222222222222"]
select p.source_id, p.account_id, p.email, p.person_id, p.link_status, coalesce(p.via_superuser, false) as via_superuser, p.via_admin_group
from (
  select a.*, a.is_superuser as via_superuser,
    exists (
      select 1 from (
        select distinct on (v.source_id, v.upstream_id) v.*
        from "metabase_membership_version" v
        join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
        where v.observed_at <= p.at
        order by v.source_id, v.upstream_id, v.observed_at desc
      ) m join (
        select distinct on (v.source_id, v.upstream_id) v.*
        from "metabase_group_version" v
        join jsonb_to_recordset($2::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
        where v.observed_at <= p.at
        order by v.source_id, v.upstream_id, v.observed_at desc
      ) g on g.source_id = m.source_id and g.upstream_id = m.group_id::text and g.present
      where m.present and m.source_id = a.source_id and m.user_id = a.account_id
        and (g.magic_group_type = 'admin' or (g.magic_group_type is null and g.name = 'Administrators'))
    ) as via_admin_group
  from (
    select a.source_id, a.upstream_id::bigint as account_id, a.email, a.is_superuser, a.sso_source, a.date_joined, a.last_login,
      il.status as link_status, il.person_id, il.method as link_method, il.candidates
    from (
      select distinct on (v.source_id, v.upstream_id) v.*
      from "metabase_account_version" v
      join jsonb_to_recordset($3::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
      where v.observed_at <= p.at
      order by v.source_id, v.upstream_id, v.observed_at desc
    ) a
    left join identity_link il on il.run_id = $4 and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    where a.present and coalesce(a.is_human, true)
      and (a.is_active or a.deactivated_at > $5)
      and (a.date_joined is null or a.date_joined <= $6)
  ) a
) p
where (p.via_superuser or p.via_admin_group)
  and (p.link_status is distinct from 'linked' or not exists (
    select 1 from (
      select distinct on (v.source_id, v.upstream_id) v.*
      from "entra_group_member_version" v
      join jsonb_to_recordset($7::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
      where v.observed_at <= p.at
      order by v.source_id, v.upstream_id, v.observed_at desc
    ) e
    where e.present and e.member_id = p.person_id and e.group_id = any($8::text[])
  ))
order by p.source_id, p.account_id;
