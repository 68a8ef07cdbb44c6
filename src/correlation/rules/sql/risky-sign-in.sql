-- risky-sign-in: Risky sign-in
-- Severity high; controls CC7.2, CC6.6, A.8.16 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/risky-sign-in.rule.ts
-- Parameters: levels = ["medium","high"]; riskStates = ["atRisk","confirmedCompromised"]
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: counts
-- $1 = ["11111111-1111-1111-1111-111111111111"]
-- $2 = 2026-07-01T00:00:00.000Z
-- $3 = 2026-10-01T00:00:00.000Z
select count(*)::int as total, count(*) filter (where s.risk_level_during_sign_in is not null or s.risk_state is not null)::int as with_risk,
  count(*) filter (where s.risk_level_during_sign_in = 'hidden')::int as hidden from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
  and s.occurred_at >= $2 and s.occurred_at < $3;

-- Statement: risky
-- $1 = ["11111111-1111-1111-1111-111111111111"]
-- $2 = 2026-07-01T00:00:00.000Z
-- $3 = 2026-10-01T00:00:00.000Z
-- $4 = ["medium","high"]
-- $5 = ["atRisk","confirmedCompromised"]
select s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at, s.risk_level_during_sign_in, s.risk_state from entra_sign_in s where s.app_id = any($1::text[]) and s.error_code = 0
  and s.occurred_at >= $2 and s.occurred_at < $3
  and (s.risk_level_during_sign_in = any($4::text[]) or s.risk_state = any($5::text[]))
order by s.user_id, s.occurred_at, s.upstream_id;
