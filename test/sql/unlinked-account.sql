-- unlinked-account: unlinked
select a.source_id, a.account_id, a.email, a.sso_source, a.date_joined, a.last_login, a.link_status, a.candidates
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
      where a.link_status is distinct from 'linked'
      order by a.source_id, a.account_id;
