-- 0001: the whole evidence model.
--
-- Conventions (see src/store/tables.ts, which describes these tables to the bulk writer):
-- * Every evidence row names its source (source_id) and its natural upstream id
--   (upstream_id: Graph `id`, Metabase row id as text), keeps the upstream record
--   verbatim in `raw`, and carries the evidence batch that wrote it (batch_id) and the
--   SHA-256 of its hashed content (record_sha256). Batches form a hash chain
--   (evidence_batch), so `accesstrail verify --store` detects edits.
-- * Event tables (sign-ins, audits, logins, queries, ...) are upserted by natural key;
--   when an upstream record changes, the previous version moves to evidence_revision
--   and `revision` counts up.
-- * State tables (*_version) keep one row per observed version of a directory object:
--   a new row only when the object changed since its previous version, and a row with
--   present = false when a complete snapshot no longer lists it. State at an instant T
--   is the latest version with observed_at <= T.
-- * Big event tables are partitioned by month on occurred_at; the store creates
--   partitions on demand (src/store/partitions.ts).
-- * Times are timestamptz (UTC). Forward-only: evidence tables are never dropped.

CREATE TABLE source (
  id            text PRIMARY KEY,             -- 'entra:<tenant>' | 'metabase:<instance>'
  kind          text NOT NULL CHECK (kind IN ('entra', 'metabase')),
  display_name  text NOT NULL,
  settings      jsonb NOT NULL DEFAULT '{}',  -- non-secret facts (app ids, version, edition)
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE collection_run (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('collect', 'import')),
  requested    jsonb NOT NULL DEFAULT '{}',
  status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  summary      jsonb NOT NULL DEFAULT '{}',
  error        text
);

-- Where each stream resumes. `position` is stream-specific (a time, an id, ...).
CREATE TABLE stream_checkpoint (
  source_id   text NOT NULL REFERENCES source (id),
  stream      text NOT NULL,
  position    jsonb NOT NULL,
  run_id      bigint REFERENCES collection_run (id),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, stream)
);

-- Time ranges a stream was collected completely. Coverage, not "no rows", tells a rule
-- that nothing happened. `detail` holds facts about the window (e.g. the Graph version).
CREATE TABLE coverage_window (
  id            bigserial PRIMARY KEY,
  source_id     text NOT NULL REFERENCES source (id),
  stream        text NOT NULL,
  covered_from  timestamptz NOT NULL,
  covered_to    timestamptz NOT NULL,
  run_id        bigint REFERENCES collection_run (id),
  detail        jsonb NOT NULL DEFAULT '{}',
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (covered_to >= covered_from)
);
CREATE INDEX coverage_window_stream ON coverage_window (source_id, stream, covered_from);

-- What a source can or cannot provide (a table missing in this Metabase version, beta
-- refused, risk fields hidden without P2, ...). Rules read it to say "not evaluable".
CREATE TABLE source_capability (
  source_id    text NOT NULL REFERENCES source (id),
  capability   text NOT NULL,
  available    boolean NOT NULL,
  reason       text,
  observed_at  timestamptz NOT NULL DEFAULT now(),
  run_id       bigint REFERENCES collection_run (id),
  PRIMARY KEY (source_id, capability)
);

-- The oldest row an upstream log still held when we looked (retention truncation).
CREATE TABLE retention_observation (
  id                   bigserial PRIMARY KEY,
  source_id            text NOT NULL REFERENCES source (id),
  stream               text NOT NULL,
  oldest_available_at  timestamptz,
  observed_at          timestamptz NOT NULL DEFAULT now(),
  run_id               bigint REFERENCES collection_run (id)
);
CREATE INDEX retention_observation_stream ON retention_observation (source_id, stream, observed_at);

-- Malformed upstream records, kept with the reason instead of being dropped.
CREATE TABLE quarantined_record (
  id           bigserial PRIMARY KEY,
  source_id    text NOT NULL REFERENCES source (id),
  stream       text NOT NULL,
  upstream_id  text,
  reason       text NOT NULL,
  payload      text NOT NULL,
  run_id       bigint REFERENCES collection_run (id),
  received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantined_record_source ON quarantined_record (source_id, stream);

-- The hash chain. content_sha256 covers the rows the batch wrote (key + record hash);
-- chain_sha256 = sha256(previous_chain_sha256 + this batch's header + content hash).
CREATE TABLE evidence_batch (
  id                     bigserial PRIMARY KEY,
  source_id              text NOT NULL REFERENCES source (id),
  target_table           text NOT NULL,
  run_id                 bigint REFERENCES collection_run (id),
  row_count              integer NOT NULL,
  content_sha256         text NOT NULL,
  previous_chain_sha256  text NOT NULL,
  chain_sha256           text NOT NULL,
  written_at             timestamptz NOT NULL
);

-- Earlier versions of event rows that upstream republished with new content.
CREATE TABLE evidence_revision (
  id             bigserial PRIMARY KEY,
  target_table   text NOT NULL,
  source_id      text NOT NULL,
  upstream_key   text NOT NULL,
  batch_id       bigint NOT NULL REFERENCES evidence_batch (id),
  record_sha256  text NOT NULL,
  row_data       jsonb NOT NULL,
  superseded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_revision_batch ON evidence_revision (target_table, batch_id);

-- Snapshots of directory state: one row per complete (or partial) listing of a stream.
CREATE TABLE snapshot (
  id            bigserial PRIMARY KEY,
  source_id     text NOT NULL REFERENCES source (id),
  stream        text NOT NULL,
  observed_at   timestamptz NOT NULL,
  complete      boolean NOT NULL DEFAULT false,
  object_count  integer NOT NULL DEFAULT 0,
  run_id        bigint REFERENCES collection_run (id)
);
CREATE INDEX snapshot_stream ON snapshot (source_id, stream, observed_at);

-- Ids seen so far by an unfinished snapshot (to write tombstones for the rest).
CREATE UNLOGGED TABLE snapshot_seen (
  snapshot_id  bigint NOT NULL,
  upstream_id  text NOT NULL,
  PRIMARY KEY (snapshot_id, upstream_id)
);

---------------------------------------------------------------------------------------
-- Entra events
---------------------------------------------------------------------------------------

CREATE TABLE entra_sign_in (
  source_id                   text NOT NULL,
  upstream_id                 text NOT NULL,
  occurred_at                 timestamptz NOT NULL,         -- createdDateTime
  user_id                     text,
  user_principal_name         text,                         -- lower-cased
  app_id                      text,
  ip_address                  text,
  error_code                  integer,
  is_interactive              boolean,
  event_types                 text[],                       -- beta signInEventTypes
  authentication_requirement  text,                         -- beta only
  risk_level_during_sign_in   text,
  risk_state                  text,
  conditional_access_status   text,
  correlation_id              text,
  graph_version               text NOT NULL,                -- 'beta' | 'v1.0' | 'import'
  revision                    integer NOT NULL DEFAULT 1,
  batch_id                    bigint NOT NULL,
  record_sha256               text NOT NULL,
  first_collected_at          timestamptz NOT NULL DEFAULT now(),
  last_collected_at           timestamptz NOT NULL DEFAULT now(),
  raw                         jsonb NOT NULL,
  PRIMARY KEY (source_id, occurred_at, upstream_id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX entra_sign_in_user ON entra_sign_in (user_id, occurred_at);
CREATE INDEX entra_sign_in_batch ON entra_sign_in (batch_id);

CREATE TABLE entra_directory_audit (
  source_id             text NOT NULL,
  upstream_id           text NOT NULL,
  occurred_at           timestamptz NOT NULL,               -- activityDateTime
  activity              text NOT NULL,                      -- activityDisplayName, as sent
  category              text,
  operation_type        text,
  result                text,
  initiated_by_user_id  text,
  initiated_by_app_id   text,
  target_ids            text[],
  revision              integer NOT NULL DEFAULT 1,
  batch_id              bigint NOT NULL,
  record_sha256         text NOT NULL,
  first_collected_at    timestamptz NOT NULL DEFAULT now(),
  last_collected_at     timestamptz NOT NULL DEFAULT now(),
  raw                   jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX entra_directory_audit_time ON entra_directory_audit (source_id, occurred_at);
CREATE INDEX entra_directory_audit_targets ON entra_directory_audit USING gin (target_ids);
CREATE INDEX entra_directory_audit_batch ON entra_directory_audit (batch_id);

---------------------------------------------------------------------------------------
-- Entra directory state (versions)
---------------------------------------------------------------------------------------

CREATE TABLE entra_user_version (
  source_id                 text NOT NULL,
  upstream_id               text NOT NULL,                  -- object id
  observed_at               timestamptz NOT NULL,
  present                   boolean NOT NULL,
  snapshot_id               bigint,
  user_principal_name       text,
  mail                      text,
  other_mails               text[],
  proxy_addresses           text[],
  account_enabled           boolean,
  user_type                 text,
  created_date_time         timestamptz,
  deleted_date_time         timestamptz,                    -- set for soft-deleted users
  employee_leave_date_time  timestamptz,
  batch_id                  bigint NOT NULL,
  record_sha256             text NOT NULL,
  raw                       jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX entra_user_version_batch ON entra_user_version (batch_id);

CREATE TABLE entra_group_version (
  source_id      text NOT NULL,
  upstream_id    text NOT NULL,
  observed_at    timestamptz NOT NULL,
  present        boolean NOT NULL,
  snapshot_id    bigint,
  display_name   text,
  batch_id       bigint NOT NULL,
  record_sha256  text NOT NULL,
  raw            jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX entra_group_version_batch ON entra_group_version (batch_id);

-- upstream_id = '<groupId>:<memberId>'; transitive members of the watched groups.
CREATE TABLE entra_group_member_version (
  source_id      text NOT NULL,
  upstream_id    text NOT NULL,
  observed_at    timestamptz NOT NULL,
  present        boolean NOT NULL,
  snapshot_id    bigint,
  group_id       text,
  member_id      text,
  member_type    text,
  transitive     boolean,
  batch_id       bigint NOT NULL,
  record_sha256  text NOT NULL,
  raw            jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX entra_group_member_version_batch ON entra_group_member_version (batch_id);

-- Applications and service principals we watch (the Metabase app(s), the collector's app).
CREATE TABLE entra_application_version (
  source_id      text NOT NULL,
  upstream_id    text NOT NULL,                              -- object id
  observed_at    timestamptz NOT NULL,
  present        boolean NOT NULL,
  snapshot_id    bigint,
  object_kind    text,                                       -- 'application' | 'servicePrincipal'
  app_id         text,
  display_name   text,
  redirect_uris  text[],
  batch_id       bigint NOT NULL,
  record_sha256  text NOT NULL,
  raw            jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX entra_application_version_batch ON entra_application_version (batch_id);

CREATE TABLE entra_app_role_assignment_version (
  source_id       text NOT NULL,
  upstream_id     text NOT NULL,                             -- assignment id
  observed_at     timestamptz NOT NULL,
  present         boolean NOT NULL,
  snapshot_id     bigint,
  principal_id    text,
  principal_type  text,
  resource_id     text,
  app_role_id     text,
  batch_id        bigint NOT NULL,
  record_sha256   text NOT NULL,
  raw             jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX entra_app_role_assignment_version_batch ON entra_app_role_assignment_version (batch_id);

-- upstream_id = '<owner object id>:<keyId>'. Secret values are never collected.
CREATE TABLE entra_credential_version (
  source_id        text NOT NULL,
  upstream_id      text NOT NULL,
  observed_at      timestamptz NOT NULL,
  present          boolean NOT NULL,
  snapshot_id      bigint,
  owner_id         text,
  owner_kind       text,                                     -- 'application' | 'servicePrincipal'
  app_id           text,
  key_id           text,
  credential_type  text,                                     -- 'password' | 'certificate'
  display_name     text,
  start_date_time  timestamptz,
  end_date_time    timestamptz,
  batch_id         bigint NOT NULL,
  record_sha256    text NOT NULL,
  raw              jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX entra_credential_version_batch ON entra_credential_version (batch_id);

---------------------------------------------------------------------------------------
-- Metabase events
---------------------------------------------------------------------------------------

CREATE TABLE metabase_login (                                -- login_history
  source_id           text NOT NULL,
  upstream_id         text NOT NULL,
  occurred_at         timestamptz NOT NULL,
  user_id             bigint NOT NULL,
  session_key         text,                                  -- sha256 of core_session.id
  device_id           text,
  ip_address          text,
  revision            integer NOT NULL DEFAULT 1,
  batch_id            bigint NOT NULL,
  record_sha256       text NOT NULL,
  first_collected_at  timestamptz NOT NULL DEFAULT now(),
  last_collected_at   timestamptz NOT NULL DEFAULT now(),
  raw                 jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX metabase_login_user ON metabase_login (source_id, user_id, occurred_at);
CREATE INDEX metabase_login_time ON metabase_login (source_id, occurred_at);
CREATE INDEX metabase_login_batch ON metabase_login (batch_id);

-- core_session rows (v58+: with the auth identity used). upstream_id is the SHA-256 of
-- the session id: before v54 the id *is* the session token, so it is never stored.
CREATE TABLE metabase_session (
  source_id           text NOT NULL,
  upstream_id         text NOT NULL,
  occurred_at         timestamptz NOT NULL,                  -- created_at
  user_id             bigint NOT NULL,
  auth_identity_id    bigint,
  revision            integer NOT NULL DEFAULT 1,
  batch_id            bigint NOT NULL,
  record_sha256       text NOT NULL,
  first_collected_at  timestamptz NOT NULL DEFAULT now(),
  last_collected_at   timestamptz NOT NULL DEFAULT now(),
  raw                 jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX metabase_session_batch ON metabase_session (batch_id);

-- auth_identity rows (v58+); `credentials` is never collected.
CREATE TABLE metabase_auth_identity (
  source_id           text NOT NULL,
  upstream_id         text NOT NULL,
  occurred_at         timestamptz NOT NULL,                  -- created_at
  user_id             bigint NOT NULL,
  provider            text NOT NULL,
  provider_id         text,
  last_used_at        timestamptz,
  revision            integer NOT NULL DEFAULT 1,
  batch_id            bigint NOT NULL,
  record_sha256       text NOT NULL,
  first_collected_at  timestamptz NOT NULL DEFAULT now(),
  last_collected_at   timestamptz NOT NULL DEFAULT now(),
  raw                 jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX metabase_auth_identity_batch ON metabase_auth_identity (batch_id);

CREATE TABLE metabase_query_execution (
  source_id           text NOT NULL,
  upstream_id         text NOT NULL,
  occurred_at         timestamptz NOT NULL,                  -- started_at
  executor_id         bigint,                                -- NULL: public/anonymous
  context             text,
  card_id             bigint,
  dashboard_id        bigint,
  database_id         bigint,
  native              boolean,
  result_rows         integer,
  running_time_ms     integer,
  has_error           boolean,
  auth_method         text,                                  -- v60+
  ip_address          text,                                  -- v60+, PII setting
  revision            integer NOT NULL DEFAULT 1,
  batch_id            bigint NOT NULL,
  record_sha256       text NOT NULL,
  first_collected_at  timestamptz NOT NULL DEFAULT now(),
  last_collected_at   timestamptz NOT NULL DEFAULT now(),
  raw                 jsonb NOT NULL,
  PRIMARY KEY (source_id, occurred_at, upstream_id)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX metabase_query_execution_executor ON metabase_query_execution (source_id, executor_id, occurred_at);
CREATE INDEX metabase_query_execution_batch ON metabase_query_execution (batch_id);

CREATE TABLE metabase_view (                                 -- view_log
  source_id           text NOT NULL,
  upstream_id         text NOT NULL,
  occurred_at         timestamptz NOT NULL,
  user_id             bigint,
  model               text,
  model_id            bigint,
  has_access          boolean,
  context             text,
  revision            integer NOT NULL DEFAULT 1,
  batch_id            bigint NOT NULL,
  record_sha256       text NOT NULL,
  first_collected_at  timestamptz NOT NULL DEFAULT now(),
  last_collected_at   timestamptz NOT NULL DEFAULT now(),
  raw                 jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX metabase_view_user ON metabase_view (source_id, user_id, occurred_at);
CREATE INDEX metabase_view_batch ON metabase_view (batch_id);

CREATE TABLE metabase_audit_event (                          -- audit_log (v48+)
  source_id           text NOT NULL,
  upstream_id         text NOT NULL,
  occurred_at         timestamptz NOT NULL,
  topic               text NOT NULL,
  user_id             bigint,
  model               text,
  model_id            bigint,
  revision            integer NOT NULL DEFAULT 1,
  batch_id            bigint NOT NULL,
  record_sha256       text NOT NULL,
  first_collected_at  timestamptz NOT NULL DEFAULT now(),
  last_collected_at   timestamptz NOT NULL DEFAULT now(),
  raw                 jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX metabase_audit_event_user ON metabase_audit_event (source_id, user_id, occurred_at);
CREATE INDEX metabase_audit_event_batch ON metabase_audit_event (batch_id);

---------------------------------------------------------------------------------------
-- Metabase state (versions)
---------------------------------------------------------------------------------------

CREATE TABLE metabase_account_version (                      -- core_user
  source_id       text NOT NULL,
  upstream_id     text NOT NULL,
  observed_at     timestamptz NOT NULL,
  present         boolean NOT NULL,
  snapshot_id     bigint,
  email           text,                                      -- lower-cased, trimmed
  first_name      text,
  last_name       text,
  account_type    text,                                      -- core_user.type (v49+)
  is_human        boolean,
  is_active       boolean,
  is_superuser    boolean,
  sso_source      text,
  date_joined     timestamptz,
  last_login      timestamptz,
  deactivated_at  timestamptz,
  batch_id        bigint NOT NULL,
  record_sha256   text NOT NULL,
  raw             jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX metabase_account_version_batch ON metabase_account_version (batch_id);

CREATE TABLE metabase_group_version (
  source_id         text NOT NULL,
  upstream_id       text NOT NULL,
  observed_at       timestamptz NOT NULL,
  present           boolean NOT NULL,
  snapshot_id       bigint,
  name              text,
  magic_group_type  text,
  batch_id          bigint NOT NULL,
  record_sha256     text NOT NULL,
  raw               jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX metabase_group_version_batch ON metabase_group_version (batch_id);

CREATE TABLE metabase_membership_version (
  source_id         text NOT NULL,
  upstream_id       text NOT NULL,                           -- '<user_id>:<group_id>'
  observed_at       timestamptz NOT NULL,
  present           boolean NOT NULL,
  snapshot_id       bigint,
  user_id           bigint,
  group_id          bigint,
  is_group_manager  boolean,
  batch_id          bigint NOT NULL,
  record_sha256     text NOT NULL,
  raw               jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX metabase_membership_version_batch ON metabase_membership_version (batch_id);

-- api_key rows; the bcrypt `key` column is never collected.
CREATE TABLE metabase_api_key_version (
  source_id          text NOT NULL,
  upstream_id        text NOT NULL,
  observed_at        timestamptz NOT NULL,
  present            boolean NOT NULL,
  snapshot_id        bigint,
  key_prefix         text,
  name               text,
  user_id            bigint,
  creator_id         bigint,
  created_at_source  timestamptz,
  scope              text,
  batch_id           bigint NOT NULL,
  record_sha256      text NOT NULL,
  raw                jsonb,
  PRIMARY KEY (source_id, upstream_id, observed_at)
);
CREATE INDEX metabase_api_key_version_batch ON metabase_api_key_version (batch_id);

---------------------------------------------------------------------------------------
-- Correlation outputs
---------------------------------------------------------------------------------------

CREATE TABLE correlation_run (
  id           bigserial PRIMARY KEY,
  period_from  timestamptz NOT NULL,
  period_to    timestamptz NOT NULL,
  as_of        timestamptz NOT NULL,
  parameters   jsonb NOT NULL DEFAULT '{}',
  status       text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  summary      jsonb NOT NULL DEFAULT '{}'
);

-- Operator-made links: automatic linking never overrides them.
CREATE TABLE manual_identity_link (
  id                  bigserial PRIMARY KEY,
  metabase_source_id  text NOT NULL,
  account_id          bigint NOT NULL,
  person_id           text NOT NULL,
  created_by          text NOT NULL,
  reason              text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  revoked_at          timestamptz,
  revoked_by          text
);
CREATE INDEX manual_identity_link_account ON manual_identity_link (metabase_source_id, account_id);

-- The current link state of every Metabase account (rewritten by each correlation).
CREATE TABLE identity_link (
  metabase_source_id  text NOT NULL,
  account_id          bigint NOT NULL,
  status              text NOT NULL CHECK (status IN ('linked', 'ambiguous', 'unmatched', 'non-human')),
  person_id           text,
  entra_source_id     text,
  method              text,          -- upn, mail, otherMails, proxyAddresses, earlierUpn, guestHome, manual
  matched_value       text,
  candidates          text[],
  run_id              bigint REFERENCES correlation_run (id),
  PRIMARY KEY (metabase_source_id, account_id)
);
CREATE INDEX identity_link_person ON identity_link (person_id);

-- Each Metabase login and the Entra sign-in that explains it (current state).
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
  outcome             text NOT NULL,  -- explained | unexplained | password-session | unlinked | not-evaluable
  run_id              bigint REFERENCES correlation_run (id),
  PRIMARY KEY (metabase_source_id, login_id)
);
CREATE INDEX login_match_account ON login_match (metabase_source_id, account_id, login_at);

CREATE TABLE rule_evaluation (
  run_id         bigint NOT NULL REFERENCES correlation_run (id),
  rule           text NOT NULL,
  status         text NOT NULL CHECK (status IN ('evaluated', 'not-evaluable')),
  reason         text,
  parameters     jsonb NOT NULL DEFAULT '{}',
  finding_count  integer NOT NULL DEFAULT 0,
  detail         jsonb NOT NULL DEFAULT '{}',
  seconds        double precision,
  PRIMARY KEY (run_id, rule)
);

CREATE TABLE finding (
  run_id       bigint NOT NULL REFERENCES correlation_run (id),
  id           text NOT NULL,          -- deterministic: hash of rule + subject + first event
  rule         text NOT NULL,
  severity     text NOT NULL CHECK (severity IN ('high', 'medium', 'low')),
  person_id    text,
  upn          text,
  account_id   text,
  email        text,
  credential_id text,
  subject_source text,
  summary      text NOT NULL,
  first_seen   timestamptz,
  last_seen    timestamptz,
  evidence     jsonb NOT NULL DEFAULT '[]',
  detail       jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, id)
);
CREATE INDEX finding_rule ON finding (rule, run_id);
CREATE INDEX finding_person ON finding (person_id);

---------------------------------------------------------------------------------------
-- Reports and the API
---------------------------------------------------------------------------------------

CREATE TABLE report (
  id              text PRIMARY KEY,
  framework       text NOT NULL,
  period_from     timestamptz NOT NULL,
  period_to       timestamptz NOT NULL,
  as_of           timestamptz NOT NULL,
  generated_at    timestamptz NOT NULL,
  provisional     boolean NOT NULL,
  content_sha256  text NOT NULL,
  signature       jsonb NOT NULL,
  content         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_period ON report (framework, period_from);

CREATE TABLE report_rendering (
  report_id  text NOT NULL REFERENCES report (id),
  format     text NOT NULL,
  name       text NOT NULL,
  sha256     text NOT NULL,
  bytes      integer NOT NULL,
  PRIMARY KEY (report_id, format, name)
);

CREATE TABLE api_key (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  key_sha256    text NOT NULL UNIQUE,   -- only the hash of the key is stored
  key_prefix    text NOT NULL,
  scopes        text[] NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);
