-- single-factor-sign-in: Single-factor sign-in
-- Severity medium; controls CC6.1, CC6.6, A.5.15, A.8.5 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/single-factor-sign-in.rule.ts
-- Parameters: none
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: carriesRequirement
-- $1 = ["11111111-1111-1111-1111-111111111111"]
-- $2 = 2026-07-01T00:00:00.000Z
-- $3 = 2026-10-01T00:00:00.000Z
select count(*)::int as total, count(s.authentication_requirement)::int as with_requirement from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
  and s.occurred_at >= $2 and s.occurred_at < $3;

-- Statement: singleFactor
-- $1 = ["11111111-1111-1111-1111-111111111111"]
-- $2 = 2026-07-01T00:00:00.000Z
-- $3 = 2026-10-01T00:00:00.000Z
select s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
  and s.occurred_at >= $2 and s.occurred_at < $3
  and s.authentication_requirement = 'singleFactorAuthentication'
order by s.user_id, s.occurred_at, s.upstream_id;
