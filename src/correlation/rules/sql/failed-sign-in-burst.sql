-- failed-sign-in-burst: Burst of failed sign-ins
-- Severity medium; controls CC7.2, A.8.16 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/failed-sign-in-burst.rule.ts
-- Parameters: threshold = 10; windowMinutes = 10; ignoredErrorCodes = [50058,50140,50074,50076,50079,50072]
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: bursts
-- $1 = ["11111111-1111-1111-1111-111111111111"]
-- $2 = [50058,50140,50074,50076,50079,50072]
-- $3 = 2026-07-01T00:00:00.000Z
-- $4 = 2026-10-01T00:00:00.000Z
-- $5 = '10 minutes'
-- $6 = '10 minutes'
-- $7 = 10
with failures as (
  select coalesce(nullif(s.user_id, ''), lower(s.user_principal_name)) as who, s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at, s.error_code
  from entra_sign_in s
  where s.app_id = any($1::text[]) and s.error_code <> 0 and not (s.error_code = any($2::int[]))
    and s.occurred_at >= $3 and s.occurred_at < $4
    and coalesce(nullif(s.user_id, ''), s.user_principal_name) is not null
), counted as (
  select f.who, f.occurred_at,
    count(*) over (partition by f.who order by f.occurred_at range between current row and $5::interval following) as n
  from failures f
), windows as (
  select who, occurred_at as w_start, occurred_at + $6::interval as w_end from counted where n >= $7
), marked as (
  select w.*, max(w.w_end) over (partition by w.who order by w.w_start rows between unbounded preceding and 1 preceding) as previous_end
  from windows w
), islands as (
  select m.*, sum(case when m.previous_end is not null and m.w_start <= m.previous_end then 0 else 1 end)
    over (partition by m.who order by m.w_start rows unbounded preceding) as island
  from marked m
), bursts as (
  select who, island, min(w_start) as burst_start, max(w_end) as burst_end from islands group by who, island
)
select b.who, f.user_id, f.user_principal_name, b.burst_start, b.burst_end, f.upstream_id, f.occurred_at, f.error_code
from bursts b join failures f on f.who = b.who and f.occurred_at between b.burst_start and b.burst_end
order by b.who, b.burst_start, f.occurred_at, f.upstream_id;
