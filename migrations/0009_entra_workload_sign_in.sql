-- 0009: sign-ins of service principals and managed identities (imported from the admin
-- center's service principal / managed identity downloads and from Log Analytics'
-- AADServicePrincipalSignInLogs / AADManagedIdentitySignInLogs). They are not user
-- sign-ins and must never be read as such (issue 10), so they get their own table
-- rather than rows in entra_sign_in, which the user rules read.
CREATE TABLE entra_workload_sign_in (
  source_id                  text NOT NULL,
  upstream_id                text NOT NULL,
  occurred_at                timestamptz NOT NULL,      -- createdDateTime
  workload_kind              text NOT NULL,             -- 'servicePrincipal' | 'managedIdentity'
  service_principal_id       text,
  service_principal_name     text,
  app_id                     text,
  resource_id                text,
  ip_address                 text,
  error_code                 integer,
  client_credential_type     text,
  credential_key_id          text,
  conditional_access_status  text,
  correlation_id             text,
  revision                   integer NOT NULL DEFAULT 1,
  batch_id                   bigint NOT NULL,
  record_sha256              text NOT NULL,
  first_collected_at         timestamptz NOT NULL DEFAULT now(),
  last_collected_at          timestamptz NOT NULL DEFAULT now(),
  raw                        jsonb NOT NULL,
  PRIMARY KEY (source_id, upstream_id)
);
CREATE INDEX entra_workload_sign_in_time ON entra_workload_sign_in (source_id, occurred_at);
CREATE INDEX entra_workload_sign_in_batch ON entra_workload_sign_in (batch_id);
CREATE TRIGGER entra_workload_sign_in_revision BEFORE UPDATE ON entra_workload_sign_in FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('entra_workload_sign_in');
