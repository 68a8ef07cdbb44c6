-- sso-bypass: Login without single sign-on
-- Severity high; controls CC6.1, A.5.15, A.8.5 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/sso-bypass.rule.ts
-- Parameters: beforeMinutes = 10; afterMinutes = 2
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: bypasses
-- $1 = 1
select metabase_source_id, account_id, person_id, login_id, login_at, outcome
from login_match
where run_id = $1 and outcome in ('unexplained', 'password-session', 'unlinked')
order by metabase_source_id, account_id, login_at, login_id;

-- Statement: notEvaluable
-- $1 = 1
select count(*)::int as n from login_match where run_id = $1 and outcome = 'not-evaluable';
