-- dormant-account: dormant
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
      activity as (
        select x.source_id, x.account_id, max(x.occurred_at) as at
        from (
    select source_id, user_id as account_id, occurred_at from metabase_login where occurred_at >= $5 and occurred_at <= $6
    union all select source_id, executor_id, occurred_at from metabase_query_execution where executor_id is not null and occurred_at >= $7 and occurred_at <= $8
    union all select source_id, user_id, occurred_at from metabase_view where user_id is not null and occurred_at >= $9 and occurred_at <= $10
    union all select source_id, user_id, occurred_at from metabase_audit_event where user_id is not null and occurred_at >= $11 and occurred_at <= $12
  ) x
        group by x.source_id, x.account_id
      ),
      sign_ins as (
        select s.user_id, max(s.occurred_at) as at from entra_sign_in s
        where s.app_id = any($13::text[]) and s.error_code = 0 and s.occurred_at <= $14
        group by s.user_id
      )
      select a.source_id, a.account_id, a.email, a.person_id, a.date_joined,
             nullif(greatest(coalesce(act.at, '-infinity'), coalesce(case when a.last_login <= $15 then a.last_login end, '-infinity'), coalesce(si.at, '-infinity')), '-infinity') as last_activity
      from accounts a
      left join activity act on act.source_id = a.source_id and act.account_id = a.account_id
      left join sign_ins si on a.link_status = 'linked' and si.user_id = a.person_id
      where a.date_joined < $16
        and coalesce(greatest(act.at, case when a.last_login <= $17 then a.last_login end, si.at), '-infinity') < $18
      order by a.source_id, a.account_id;
