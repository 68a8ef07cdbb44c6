-- 0004: cheaper ingest (bench/store-ingest).
-- 1. Earlier versions of republished events are archived by a trigger on the (rare)
--    update path, instead of the writer probing every incoming row for an existing one.
-- 2. entra_sign_in_app_user is covered by entra_sign_in_user_covering (0003).
CREATE FUNCTION archive_evidence_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.record_sha256 IS DISTINCT FROM NEW.record_sha256 THEN
    INSERT INTO evidence_revision (target_table, source_id, upstream_key, batch_id, record_sha256, row_data)
    VALUES (TG_ARGV[0], OLD.source_id, OLD.upstream_id, OLD.batch_id, OLD.record_sha256, to_jsonb(OLD));
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER entra_sign_in_revision BEFORE UPDATE ON entra_sign_in FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('entra_sign_in');
CREATE TRIGGER entra_directory_audit_revision BEFORE UPDATE ON entra_directory_audit FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('entra_directory_audit');
CREATE TRIGGER metabase_login_revision BEFORE UPDATE ON metabase_login FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('metabase_login');
CREATE TRIGGER metabase_session_revision BEFORE UPDATE ON metabase_session FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('metabase_session');
CREATE TRIGGER metabase_auth_identity_revision BEFORE UPDATE ON metabase_auth_identity FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('metabase_auth_identity');
CREATE TRIGGER metabase_query_execution_revision BEFORE UPDATE ON metabase_query_execution FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('metabase_query_execution');
CREATE TRIGGER metabase_view_revision BEFORE UPDATE ON metabase_view FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('metabase_view');
CREATE TRIGGER metabase_audit_event_revision BEFORE UPDATE ON metabase_audit_event FOR EACH ROW EXECUTE FUNCTION archive_evidence_revision('metabase_audit_event');

DROP INDEX IF EXISTS entra_sign_in_app_user;
