-- login matching: the Metabase logins of the run matched to Entra sign-ins, written into the run's partition of login_match (matchingSteps; read by sso-bypass)
-- Code: src/correlation/matching.ts (matchLoginsStatement)
-- Parameters: beforeMinutes = 10; afterMinutes = 2 (sso-bypass's entry in reports/catalogues/rules.json)
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: match logins
-- $1 = '[]'
-- $2 = '10 minutes'
-- $3 = '2 minutes'
-- $4 = 1
-- $5 = 2026-07-01T00:00:00.000Z
-- $6 = 2026-10-01T00:00:00.000Z
-- $7 = 1
-- $8 = ["app"]
-- $9 = '10 minutes'
-- $10 = '2 minutes'
  insert into login_match_run_1 (run_id, metabase_source_id, login_id, login_at, account_id, person_id, sign_in_source_id, sign_in_id, sign_in_at, lag_seconds, same_ip, outcome)
with coverage as (
  select * from jsonb_to_recordset($1::jsonb) as c(covered_from timestamptz, covered_to timestamptz)
), account as (
  select distinct on (v.source_id, v.upstream_id) v.source_id, v.upstream_id::bigint as account_id, v.is_human
  from metabase_account_version v where v.present
  order by v.source_id, v.upstream_id, v.observed_at desc
), logins as (
  select l.source_id, l.upstream_id, l.occurred_at, l.user_id, l.ip_address, l.session_key,
    il.status, il.person_id, coalesce(a.is_human, true) as is_human,
    exists (
      select 1 from metabase_session s
      join metabase_auth_identity ai on ai.source_id = s.source_id and ai.upstream_id = s.auth_identity_id::text
      where s.source_id = l.source_id and s.upstream_id = l.session_key and ai.provider = 'password'
    ) as password_session,
    exists (
      select 1 from coverage c
      where c.covered_from <= l.occurred_at - $2::interval and c.covered_to >= l.occurred_at + $3::interval
    ) as covered
  from metabase_login l
  left join identity_link il on il.run_id = $4 and il.metabase_source_id = l.source_id and il.account_id = l.user_id
  left join account a on a.source_id = l.source_id and a.account_id = l.user_id
  where l.occurred_at >= $5 and l.occurred_at < $6
)
select $7, lg.source_id, lg.upstream_id, lg.occurred_at, lg.user_id, lg.person_id,
  m.source_id, m.upstream_id, m.occurred_at,
  extract(epoch from lg.occurred_at - m.occurred_at), m.same_ip,
  case
  when not lg.is_human then 'non-human'
  when lg.password_session then 'password-session'
  when lg.status is distinct from 'linked' then 'unlinked'
  when m.upstream_id is not null then 'explained'
  when not lg.covered then 'not-evaluable'
  else 'unexplained'
  end
from logins lg
left join lateral (
  select s.source_id, s.upstream_id, s.occurred_at, (s.ip_address = lg.ip_address) as same_ip
  from entra_sign_in s
  where lg.status = 'linked' and s.user_id = lg.person_id
    and s.app_id = any($8::text[]) and s.error_code = 0
    and s.occurred_at between lg.occurred_at - $9::interval and lg.occurred_at + $10::interval
  order by (s.ip_address = lg.ip_address) desc nulls last, abs(extract(epoch from s.occurred_at - lg.occurred_at)), s.upstream_id
  limit 1
) m on true;
