-- log-gap: Gap in the collected logs
-- Severity high; controls CC7.2, A.8.15 (reports/catalogues/rules.json)
-- Rule file: src/correlation/rules/log-gap.rule.ts
-- Parameters: toleranceHours = 24
-- Compiled for run 1, period [2026-07-01T00:00:00.000Z, 2026-10-01T00:00:00.000Z), as-of 2026-10-01T00:00:00.000Z.
-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u

-- Statement: retention
-- $1 = ["metabase:m"]
select id, settings from source where id = any($1::text[]);

-- Statement: coverageWindows
-- $1 = ["entra:t","metabase:m"]
select cw.id, cw.source_id, cw.stream, cw.covered_from, cw.covered_to, cw.run_id, r.started_at as run_started_at
from coverage_window cw
left join collection_run r on r.id = cw.run_id
where cw.source_id = any($1::text[])
order by cw.source_id, cw.stream, cw.covered_from, cw.id;
