-- report populations: input metabase_account_version
create temporary table "report_state_metabase_account_version" on commit drop as select * from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_account_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) s;

-- report populations: index metabase_account_version
create index on "report_state_metabase_account_version" (source_id, upstream_id);

-- report populations: analyze metabase_account_version
analyze "report_state_metabase_account_version";

-- report populations: input metabase_membership_version
create temporary table "report_state_metabase_membership_version" on commit drop as select * from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_membership_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) s;

-- report populations: analyze metabase_membership_version
analyze "report_state_metabase_membership_version";

-- report populations: input metabase_group_version
create temporary table "report_state_metabase_group_version" on commit drop as select * from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_group_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) s;

-- report populations: analyze metabase_group_version
analyze "report_state_metabase_group_version";

-- report populations: input entra_group_member_version
create temporary table "report_state_entra_group_member_version" on commit drop as select * from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "entra_group_member_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) s;

-- report populations: analyze entra_group_member_version
analyze "report_state_entra_group_member_version";

-- report populations: input metabase_api_key_version
create temporary table "report_state_metabase_api_key_version" on commit drop as select * from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_api_key_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) s;

-- report populations: index metabase_api_key_version
create index on "report_state_metabase_api_key_version" (source_id, upstream_id);

-- report populations: analyze metabase_api_key_version
analyze "report_state_metabase_api_key_version";

-- report populations: input entra_credential_version
create temporary table "report_state_entra_credential_version" on commit drop as select * from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "entra_credential_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) s;

-- report populations: analyze entra_credential_version
analyze "report_state_entra_credential_version";

-- report populations: humanAccounts
with accounts as (
      select a.* from "report_state_metabase_account_version" a
      where a.present and coalesce(a.is_human, true)
        and (a.date_joined is null or a.date_joined < $1)
        and (a.is_active or a.deactivated_at >= $2)
    ), privileged as (
    select a.*, a.is_superuser as via_superuser,
           exists (
             select 1 from "report_state_metabase_membership_version" m join "report_state_metabase_group_version" g on g.source_id = m.source_id and g.upstream_id = m.group_id::text and g.present
             where m.present and m.source_id = a.source_id and m.user_id = a.account_id
               and (g.magic_group_type = 'admin' or (g.magic_group_type is null and g.name = 'Administrators'))
           ) as via_admin_group
    from (
    select a.source_id, a.upstream_id::bigint as account_id, a.email, a.is_superuser, a.sso_source, a.date_joined, a.last_login,
           il.status as link_status, il.person_id, il.method as link_method, il.candidates
    from "report_state_metabase_account_version" a
    left join identity_link il on il.run_id = $3 and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    where a.present and coalesce(a.is_human, true)
      and (a.is_active or a.deactivated_at > $4)
      and (a.date_joined is null or a.date_joined <= $5)
  ) a
  ),
    people as (select distinct on (upstream_id) upstream_id, user_principal_name from entra_user_version where present order by upstream_id, observed_at desc)
    select a.source_id, a.upstream_id::bigint as account_id, a.email, (a.is_active or a.deactivated_at > $6) as is_active, a.sso_source, a.date_joined,
           il.status, il.method, il.person_id, lower(p.user_principal_name) as upn,
           coalesce(pr.via_superuser or pr.via_admin_group, false) as privileged,
           least(l.first_at, q.first_at, v.first_at, e.first_at) as first_activity,
           greatest(l.last_at, q.last_at, v.last_at, e.last_at) as last_activity,
           si.at as last_sign_in
    from accounts a
    left join identity_link il on il.run_id = $7 and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    left join privileged pr on pr.source_id = a.source_id and pr.account_id = a.upstream_id::bigint
    left join people p on p.upstream_id = il.person_id
    -- First and last activity in the period, and the last successful sign-in: index
    -- probes per account (min/max read one end of (source, user, time) indexes)
    -- rather than aggregating every event of the period.
    left join lateral (
      select min(occurred_at) as first_at, max(occurred_at) as last_at from metabase_login
      where source_id = a.source_id and user_id = a.upstream_id::bigint and occurred_at >= $8 and occurred_at < $9
    ) l on true
    left join lateral (
      select min(occurred_at) as first_at, max(occurred_at) as last_at from metabase_query_execution
      where source_id = a.source_id and executor_id = a.upstream_id::bigint and occurred_at >= $10 and occurred_at < $11
    ) q on true
    left join lateral (
      select min(occurred_at) as first_at, max(occurred_at) as last_at from metabase_view
      where source_id = a.source_id and user_id = a.upstream_id::bigint and occurred_at >= $12 and occurred_at < $13
    ) v on true
    left join lateral (
      select min(occurred_at) as first_at, max(occurred_at) as last_at from metabase_audit_event
      where source_id = a.source_id and user_id = a.upstream_id::bigint and occurred_at >= $14 and occurred_at < $15
    ) e on true
    left join lateral (
      select max(s.occurred_at) as at from entra_sign_in s
      where s.user_id = il.person_id and s.app_id = any($16::text[]) and s.error_code = 0 and s.occurred_at <= $17
    ) si on true
    order by a.source_id, a.upstream_id::bigint;

-- report populations: terminatedPeople
with people as (select distinct on (upstream_id) upstream_id, user_principal_name from entra_user_version where present order by upstream_id, observed_at desc),
    accounts as (select * from "report_state_metabase_account_version" a where a.present)
    select distinct on (i.person_id, i.started_at, i.reason) i.person_id, lower(p.user_principal_name) as upn, i.started_at, i.approximate, i.reason,
           a.upstream_id::bigint as account_id, (a.is_active or a.deactivated_at > $1) as is_active, a.deactivated_at,
           -- The latest of each table apart (greatest ignores a null): each max reads one
           -- end of the (source, user, time) index, where a max over their union read
           -- every row of the account (7.5 s for 963 people at 5M query executions).
           greatest(
             (select max(occurred_at) from metabase_login where source_id = a.source_id and user_id = a.upstream_id::bigint and occurred_at <= $2),
             (select max(occurred_at) from metabase_query_execution where source_id = a.source_id and executor_id = a.upstream_id::bigint and occurred_at <= $3
                and (context is null or context not in ('pulse', 'dashboard-subscription')))
           ) as last_activity
    from person_terminated_interval i
    left join people p on p.upstream_id = i.person_id
    left join identity_link il on il.run_id = $4 and il.status = 'linked' and il.person_id = i.person_id
    left join accounts a on a.source_id = il.metabase_source_id and a.upstream_id = il.account_id::text
    where i.run_id = $5 and i.started_at >= $6 and i.started_at < $7
    order by i.person_id, i.started_at, i.reason, a.upstream_id;

-- report populations: privileged
select p.source_id, p.account_id, p.email, p.person_id, p.link_status, coalesce(p.via_superuser, false) as via_superuser, p.via_admin_group,
           exists (select 1 from "report_state_entra_group_member_version" e where e.present and e.member_id = p.person_id and e.group_id = any($1::text[])) as in_group
    from (
    select a.*, a.is_superuser as via_superuser,
           exists (
             select 1 from "report_state_metabase_membership_version" m join "report_state_metabase_group_version" g on g.source_id = m.source_id and g.upstream_id = m.group_id::text and g.present
             where m.present and m.source_id = a.source_id and m.user_id = a.account_id
               and (g.magic_group_type = 'admin' or (g.magic_group_type is null and g.name = 'Administrators'))
           ) as via_admin_group
    from (
    select a.source_id, a.upstream_id::bigint as account_id, a.email, a.is_superuser, a.sso_source, a.date_joined, a.last_login,
           il.status as link_status, il.person_id, il.method as link_method, il.candidates
    from "report_state_metabase_account_version" a
    left join identity_link il on il.run_id = $2 and il.metabase_source_id = a.source_id and il.account_id = a.upstream_id::bigint
    where a.present and coalesce(a.is_human, true)
      and (a.is_active or a.deactivated_at > $3)
      and (a.date_joined is null or a.date_joined <= $4)
  ) a
  ) p
    where p.via_superuser or p.via_admin_group
    order by p.source_id, p.account_id;

-- report populations: privilegeChanges
select observed_at, upstream_id, email, is_superuser, previous from (
      select v.observed_at, v.upstream_id, v.email, coalesce(v.is_superuser, false) as is_superuser,
             lag(coalesce(v.is_superuser, false)) over (partition by v.source_id, v.upstream_id order by v.observed_at) as previous
      from metabase_account_version v where v.present and v.observed_at <= $1
    ) x
    where previous is not null and previous <> is_superuser and observed_at >= $2 and observed_at < $3
    order by observed_at, upstream_id;

-- report populations: nonHuman
select a.source_id, a.upstream_id, a.email, a.account_type,
           (select coalesce(c.email, k.creator_id::text) from "report_state_metabase_api_key_version" k
              left join "report_state_metabase_account_version" c on c.source_id = k.source_id and c.upstream_id = k.creator_id::text
              where k.source_id = a.source_id and k.user_id = a.upstream_id::bigint limit 1) as owner,
           (select max(q.occurred_at) from metabase_query_execution q where q.source_id = a.source_id and q.executor_id = a.upstream_id::bigint and q.occurred_at <= $1) as last_use
    from "report_state_metabase_account_version" a
    where a.present and a.is_human = false
    order by a.source_id, a.upstream_id::bigint;

-- report populations: entraCredentials
select key_id, app_id, owner_kind, credential_type, display_name, start_date_time, end_date_time from "report_state_entra_credential_version" c
    where c.present order by app_id, owner_kind, key_id;

-- report populations: apiKeys
select upstream_id, key_prefix, name, created_at_source from "report_state_metabase_api_key_version" k where k.present order by upstream_id::bigint;

-- report populations: accountCounts
select count(*) filter (where coalesce(a.is_human, true))::int as human, count(*) filter (where a.is_human = false)::int as non_human
    from "report_state_metabase_account_version" a where a.present;
