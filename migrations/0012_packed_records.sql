-- 0012: the big event tables keep their verbatim record compressed (issue 13; figures in
-- docs/scale.md, format in src/store/record-codec.ts).
--
-- Postgres compresses a value only when its row exceeds TOAST_TUPLE_THRESHOLD (~2 KB,
-- fixed at build time; toast_tuple_target does not lower it, 0008 measured it), and a
-- sign-in is ~1.4 KB of jsonb: stored as it came, every sign-in cost ~2.4 KB with its
-- indexes. The writer now packs the record, with the normalised columns that only
-- repeat it and that no query reads, into one `raw_packed` bytea: raw deflate with a
-- preset dictionary of the source's field names (src/store/record-dictionaries.ts),
-- ~250 bytes for a 1.4 KB sign-in. Every reader goes through the one decoder
-- (record-codec.ts: decodeStoredRow, storedRaw); the record hash is unchanged (it is
-- computed over the record and every column, packed or not).
--
-- Existing rows are NOT converted: a row written before 0012 keeps `raw` (jsonb) and its
-- columns, and the decoder reads it as it is; a row written after has raw = NULL,
-- raw_packed set and the packed columns NULL (a NULL costs one bit of the row's null
-- bitmap). Converting in SQL is not possible (no deflate in Postgres), and rewriting
-- a large store inside a migration would hold the migration lock for as long as it
-- takes; an unchanged record collected again is left as it is (same hash).
--
-- Packed columns (src/store/tables.ts, `packed`), none of which any query reads
-- (grep of src/: only the collectors write them):
--   entra_sign_in             is_interactive, event_types, conditional_access_status, correlation_id
--   entra_workload_sign_in    service_principal_name, resource_id, client_credential_type,
--                             conditional_access_status, correlation_id
--   metabase_query_execution  card_id, dashboard_id, database_id, native, result_rows,
--                             running_time_ms, auth_method, ip_address
--   metabase_login            device_id
--   metabase_view             model, model_id, has_access, context
-- They stay in the tables (NULL in new rows) because rows written before 0012 are
-- hashed over them.
--
-- raw_packed is stored EXTERNAL: it is compressed already, so Postgres never tries again
-- (it would only try on a row over ~2 KB anyway), and a very large record still moves
-- out of line to TOAST.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['entra_sign_in', 'entra_workload_sign_in', 'metabase_query_execution', 'metabase_login', 'metabase_view'] LOOP
    EXECUTE format('ALTER TABLE %I ADD COLUMN raw_packed bytea', t);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN raw_packed SET STORAGE EXTERNAL', t);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN raw DROP NOT NULL', t);
    -- Exactly one form of the record. NOT VALID: the rows already there all have raw
    -- (it was NOT NULL), so checking them would only scan the whole table.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK ((raw IS NULL) <> (raw_packed IS NULL)) NOT VALID', t, t || '_one_record');
  END LOOP;
END
$$;

-- Indexes of these tables after 0012, each with the queries that need it:
--
-- entra_sign_in
--   primary key (source_id, occurred_at, upstream_id): the writer's idempotency (its
--     probe for existing rows and the ON CONFLICT of changed ones, evidence.repository.ts);
--     it leads with source_id so the store can be distributed on it.
--   entra_sign_in_user_covering (user_id, occurred_at) INCLUDE (app_id, error_code,
--     ip_address, upstream_id, source_id) (0003): login matching, one index-only probe
--     per Metabase login (login-matching.sql); dormant-account and the report's last
--     successful sign-in per person (populations.repository.ts: max by index, app_id and
--     error_code read from it); the console timeline of a person.
--   entra_sign_in_batch BRIN (batch_id) (0008): `verify --store`, a batch's rows.
-- metabase_query_execution
--   primary key (source_id, occurred_at, upstream_id): the writer's idempotency.
--   metabase_query_execution_executor (source_id, executor_id, occurred_at): dormant-account
--     and the report's last use/activity per account (max by index), access-after-termination,
--     the console timeline.
--   metabase_query_execution_batch BRIN (batch_id) (0008): `verify --store`.
-- metabase_login
--   primary key (source_id, upstream_id): the writer's idempotency, evidence by id.
--   metabase_login_user (source_id, user_id, occurred_at): dormant-account, the report's
--     first/last activity per account, the console timeline.
--   metabase_login_time (source_id, occurred_at): login matching and the coverage counts
--     of a period (build-model.ts), which read a source's logins by time.
--   metabase_login_batch BRIN (batch_id) (0008): `verify --store`.
-- metabase_view
--   primary key (source_id, upstream_id): the writer's idempotency.
--   metabase_view_user (source_id, user_id, occurred_at): dormant-account and the report's
--     activity per account (max/min by index).
--   metabase_view_batch: now BRIN, as 0008 did for the others (its one reader is
--     `verify --store`; batches are written together and their ids grow with the table).
-- entra_workload_sign_in
--   primary key (source_id, upstream_id): the writer's idempotency.
--   entra_workload_sign_in_batch: now BRIN, as above.
--   entra_workload_sign_in_time (source_id, occurred_at) is DROPPED: no query reads
--     these rows by time yet (only their import writes them); the rule that does adds the
--     index it needs.
DROP INDEX IF EXISTS metabase_view_batch;
CREATE INDEX metabase_view_batch ON metabase_view USING brin (batch_id);
DROP INDEX IF EXISTS entra_workload_sign_in_batch;
CREATE INDEX entra_workload_sign_in_batch ON entra_workload_sign_in USING brin (batch_id);
DROP INDEX IF EXISTS entra_workload_sign_in_time;
