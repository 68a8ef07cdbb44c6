-- stale-credential: entra
select c.source_id, c.key_id, c.app_id, c.owner_kind, c.credential_type, c.display_name, c.start_date_time, c.end_date_time
      from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "entra_credential_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) c
      where c.present and (c.start_date_time < $2 or c.end_date_time < $3 or c.end_date_time <= $4)
      order by c.source_id, c.key_id, c.owner_kind;

-- stale-credential: metabase
select k.source_id, k.upstream_id, k.key_prefix, k.name, k.created_at_source
      from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_api_key_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) k
      where k.present and k.created_at_source < $2
      order by k.source_id, k.upstream_id;
