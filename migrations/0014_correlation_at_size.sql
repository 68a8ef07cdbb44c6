-- 0014: correlation at size (issue 13; figures in docs/scale.md, "Correlation").
--
-- 1. login_match becomes one partition per correlation run.
--
-- A run writes one row per Metabase login of its period (721,486 at the 1M benchmark).
-- Inserted into one table whose two b-trees held the rows of every kept run (up to
-- five), each row was a random insertion into two indexes larger than shared_buffers:
-- measured on the 1M store, in one session at load ~13, inserting one run's rows took
-- 13.9–18.3 s, while the same rows into a fresh table without indexes took 2.1 s and
-- building both indexes afterwards (one sort each) 4.4 s. So matching.ts now writes a
-- run's rows into a table of its own, builds its indexes once and attaches it as the
-- run's partition (ATTACH takes SHARE UPDATE EXCLUSIVE on login_match: readers and other
-- runs go on), and pruning an old run drops its partition instead of deleting its rows.
--
-- Indexes (each partition has both, attached to these):
--  - the primary key (run, source, login): one outcome per login and run;
--  - login_match_person (run, person, time, login): the API's recent logins of a person
--    (src/api/read.repository.ts, recentLogins: newest first), which read the whole run
--    before. It replaces login_match_account (run, source, account, time), which no query
--    read any more: sso-bypass takes a tenth of the run by outcome, by a scan of the
--    run's partition and a sort of what it keeps (plan in bench/out/correlate-plans.txt),
--    and access-after-termination reads activity, not matches.
--
-- The rows stored before this migration move to one partition per run. Rows of a run
-- that has no partition of its own (written by hand, as some tests do) go to the
-- default partition; matching never writes there, so it stays empty and the scan of it
-- that each ATTACH makes (under an ACCESS EXCLUSIVE lock on it) costs nothing.
ALTER TABLE login_match RENAME TO login_match_before_0014;
ALTER TABLE login_match_before_0014 RENAME CONSTRAINT login_match_pkey TO login_match_before_0014_pkey;
DROP INDEX login_match_account;

CREATE TABLE login_match (
  metabase_source_id  text NOT NULL,
  login_id            text NOT NULL,
  login_at            timestamptz NOT NULL,
  account_id          bigint NOT NULL,
  person_id           text,
  sign_in_source_id   text,
  sign_in_id          text,
  sign_in_at          timestamptz,
  lag_seconds         double precision,
  same_ip             boolean,
  outcome             text NOT NULL,  -- explained | unexplained | password-session | unlinked | not-evaluable | non-human
  run_id              bigint NOT NULL,
  PRIMARY KEY (run_id, metabase_source_id, login_id)
) PARTITION BY LIST (run_id);
CREATE INDEX login_match_person ON login_match (run_id, person_id, login_at, login_id);
CREATE TABLE login_match_default PARTITION OF login_match DEFAULT;

DO $$
DECLARE
  r bigint;
BEGIN
  FOR r IN SELECT DISTINCT run_id FROM login_match_before_0014 ORDER BY 1 LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF login_match FOR VALUES IN (%s)', 'login_match_run_' || r, r);
  END LOOP;
END
$$;
INSERT INTO login_match (metabase_source_id, login_id, login_at, account_id, person_id, sign_in_source_id, sign_in_id, sign_in_at,
                         lag_seconds, same_ip, outcome, run_id)
  SELECT metabase_source_id, login_id, login_at, account_id, person_id, sign_in_source_id, sign_in_id, sign_in_at,
         lag_seconds, same_ip, outcome, run_id
  FROM login_match_before_0014;
DROP TABLE login_match_before_0014;

-- 2. The correlation run a stored report's rules were evaluated by: the run it made, or
--    the earlier run of identical inputs it reused (src/correlation/reuse.ts). Not part
--    of the signed content (that stays the same whichever run evaluated it); with the
--    run, its rule evaluations, findings and derived rows can be looked up.
ALTER TABLE report ADD COLUMN correlation_run_id bigint REFERENCES correlation_run (id);
