-- 0008: storage and correlation at size (issue 13; figures in docs/scale.md).
--
-- 1. The verbatim record (raw) is compressed with lz4 where the server has it (Postgres
--    built --with-lz4, as Debian's and the official images are); the embedded PGlite
--    has only pglz, and keeps it. lz4 compresses and decompresses several times faster
--    than pglz at about the same ratio. NOTE: Postgres compresses a value only when its
--    row exceeds TOAST_TUPLE_THRESHOLD (~2 KB, fixed at build time; toast_tuple_target
--    cannot lower it); a typical sign-in row (~1.6 KB) stays uncompressed either way.
--    What this buys is on the large rows: query executions with long native SQL,
--    audit events, directory objects, and the archived revisions.
DO $$
DECLARE
  t text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    FOREACH t IN ARRAY ARRAY[
      'entra_sign_in', 'entra_directory_audit', 'entra_user_version', 'entra_group_version', 'entra_group_member_version',
      'entra_application_version', 'entra_app_role_assignment_version', 'entra_credential_version',
      'metabase_login', 'metabase_session', 'metabase_auth_identity', 'metabase_query_execution', 'metabase_view',
      'metabase_audit_event', 'metabase_account_version', 'metabase_group_version', 'metabase_membership_version',
      'metabase_api_key_version'
    ] LOOP
      -- On a partitioned table this reaches every partition, and partitions created
      -- later take the column's compression from the parent.
      EXECUTE format('ALTER TABLE %I ALTER COLUMN raw SET COMPRESSION lz4', t);
    END LOOP;
    ALTER TABLE evidence_revision ALTER COLUMN row_data SET COMPRESSION lz4;
  END IF;
END
$$;

-- 2. The batch index of the big event tables becomes BRIN. Its one reader is
--    `verify --store` (chain.ts: the rows of one batch, `where batch_id = $1`). A batch
--    is written by one statement, so its rows lie together on disk and batch ids grow
--    with the table: a block-range summary finds them as well as a b-tree, at a few
--    kilobytes per million rows. (Measured: ~5 bytes per sign-in less; the b-tree was
--    already small, its deduplication stores a repeated batch id once per page.)
DROP INDEX IF EXISTS entra_sign_in_batch;
CREATE INDEX entra_sign_in_batch ON entra_sign_in USING brin (batch_id);
DROP INDEX IF EXISTS metabase_query_execution_batch;
CREATE INDEX metabase_query_execution_batch ON metabase_query_execution USING brin (batch_id);
DROP INDEX IF EXISTS metabase_login_batch;
CREATE INDEX metabase_login_batch ON metabase_login USING brin (batch_id);

-- 3. login_match is derived, written by one statement of the run that owns it
--    (matching.ts) and pruned by run (correlate.ts); the per-row foreign-key check
--    against correlation_run cost ~4 s of the 1M-login matching (docs/rules.md) and
--    guards nothing a run could get wrong. Its remaining indexes: the primary key
--    (run, source, login) and login_match_account (run, source, account, time), which
--    sso-bypass and access-after-termination read.
ALTER TABLE login_match DROP CONSTRAINT IF EXISTS login_match_run_id_fkey;
