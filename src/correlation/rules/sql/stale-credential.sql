-- stale-credential: Stale or expiring credential
-- Severity medium; controls A.5.17, CC6.1 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/stale-credential.rule.ts
-- Parameters: maxAgeDays = 90; warningDays = 30
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: entra
-- $1 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $2 = 2026-07-03T00:00:00.000Z
-- $3 = 2026-10-01T00:00:00.000Z
-- $4 = 2026-10-31T00:00:00.000Z
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

-- Statement: metabase
-- $1 = '[{"source_id":"source","at":"2026-10-01T00:00:00.000Z"}]'
-- $2 = 2026-10-01T00:00:00.000Z
with keyed as (
  select k.source_id, k.upstream_id, k.key_prefix, k.name, k.created_at_source, r.regenerated_at, r.regenerate_event_id,
    case when p.previous_seen is null then null
    when p.updated_at > p.previous_seen and p.updated_at <= p.first_seen then p.updated_at
    else p.previous_seen end as prefix_changed_at,
    p.previous_prefix
  from (
    select distinct on (v.source_id, v.upstream_id) v.*
    from "metabase_api_key_version" v
    join jsonb_to_recordset($1::jsonb) as p(source_id text, at timestamptz) on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  ) k
  left join lateral (
    select e.occurred_at as regenerated_at, e.upstream_id as regenerate_event_id
    from metabase_audit_event e
    where e.source_id = k.source_id and e.topic = 'api-key-regenerate' and e.model_id::text = k.upstream_id and e.occurred_at <= $2
    order by e.occurred_at desc limit 1
  ) r on true
  left join lateral (
    select cur.observed_at as first_seen, (cur.raw->>'updated_at')::timestamptz as updated_at, prev.observed_at as previous_seen, prev.key_prefix as previous_prefix
    from metabase_api_key_version cur
    left join lateral (
      select v.observed_at, v.key_prefix from metabase_api_key_version v
      where v.source_id = cur.source_id and v.upstream_id = cur.upstream_id and v.observed_at < cur.observed_at and v.present and v.key_prefix is distinct from cur.key_prefix
      order by v.observed_at desc limit 1
    ) prev on true
    where cur.source_id = k.source_id and cur.upstream_id = k.upstream_id and cur.key_prefix = k.key_prefix and cur.observed_at <= k.observed_at
    order by cur.observed_at asc limit 1
  ) p on true
  where k.present
)
select keyed.*, greatest(created_at_source, regenerated_at, prefix_changed_at) as secret_since
from keyed
order by source_id, upstream_id;
