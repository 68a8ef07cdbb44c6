-- report sources: entra sign-in span
select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from "entra_sign_in"
    where source_id = $1 and occurred_at >= $2 and occurred_at < $3;
-- parameters: ["entra:t","2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z"]

-- report sources: entra directory audit span
select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from "entra_directory_audit"
    where source_id = $1 and occurred_at >= $2 and occurred_at < $3;
-- parameters: ["entra:t","2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z"]

-- report sources: directory snapshots
select count(*)::int as n, min(observed_at) as first, max(observed_at) as last from snapshot
    where source_id = $1 and stream = 'entra_user_version' and complete;
-- parameters: ["entra:t"]

-- report sources: metabase event span
select count(*)::int as n, min(occurred_at) as first, max(occurred_at) as last from (
      select occurred_at from metabase_login where source_id = $1 and occurred_at >= $2 and occurred_at < $3
      union all select occurred_at from metabase_query_execution where source_id = $4 and occurred_at >= $5 and occurred_at < $6
      union all select occurred_at from metabase_view where source_id = $7 and occurred_at >= $8 and occurred_at < $9
      union all select occurred_at from metabase_audit_event where source_id = $10 and occurred_at >= $11 and occurred_at < $12
    ) x;
-- parameters: ["metabase:m","2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z","metabase:m","2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z","metabase:m","2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z","metabase:m","2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z"]

-- report sources: sign-ins per week and their multi-factor share
select date_trunc('week', occurred_at) as week, count(*) filter (where error_code = 0)::int as successful, count(*) filter (where error_code <> 0)::int as failed,
           count(*) filter (where error_code = 0 and authentication_requirement = 'multiFactorAuthentication')::int as mfa,
           count(authentication_requirement) filter (where error_code = 0)::int as known
    from entra_sign_in where app_id = any($1::text[]) and occurred_at >= $2 and occurred_at < $3
    group by 1 order by 1;
-- parameters: [["11111111-1111-1111-1111-111111111111"],"2026-07-01T00:00:00.000Z","2026-10-01T00:00:00.000Z"]
