-- 0002: derived data of a correlation run.
-- Terminated intervals per person (rules.md, "Terminated interval"), computed from
-- directory audits, deletion, leave dates and snapshots, and kept with the run that
-- computed them so a report can show exactly what its rules used.
CREATE TABLE person_terminated_interval (
  run_id           bigint NOT NULL REFERENCES correlation_run (id),
  entra_source_id  text NOT NULL,
  person_id        text NOT NULL,
  started_at       timestamptz NOT NULL,
  ended_at         timestamptz,
  reason           text NOT NULL,
  approximate      boolean NOT NULL DEFAULT false,
  evidence         jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (run_id, entra_source_id, person_id, started_at, reason)
);
CREATE INDEX person_terminated_interval_person ON person_terminated_interval (person_id, run_id);

-- Metabase login matching reads sign-ins by user and time.
CREATE INDEX entra_sign_in_app_user ON entra_sign_in (app_id, user_id, occurred_at);

-- Links and login matches belong to the correlation run that made them, like the
-- findings: a report for an old quarter and today's correlation must not overwrite
-- each other's view.
ALTER TABLE identity_link DROP CONSTRAINT identity_link_pkey;
ALTER TABLE identity_link ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE identity_link ADD PRIMARY KEY (run_id, metabase_source_id, account_id);
ALTER TABLE login_match DROP CONSTRAINT login_match_pkey;
ALTER TABLE login_match ALTER COLUMN run_id SET NOT NULL;
ALTER TABLE login_match ADD PRIMARY KEY (run_id, metabase_source_id, login_id);
DROP INDEX login_match_account;
CREATE INDEX login_match_account ON login_match (run_id, metabase_source_id, account_id, login_at);
