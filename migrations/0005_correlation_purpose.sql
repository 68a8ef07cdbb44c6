-- 0005: what a correlation run was for. `current`: `accesstrail correlate` (and collect)
-- over the last 90 days, whose findings the API serves as the current ones; `report`:
-- the run a report made for its own period and as-of, kept with the report's evidence but
-- never mistaken for the current state.
ALTER TABLE correlation_run ADD COLUMN purpose text NOT NULL DEFAULT 'current' CHECK (purpose IN ('current', 'report'));
CREATE INDEX correlation_run_latest ON correlation_run (purpose, status, finished_at);
