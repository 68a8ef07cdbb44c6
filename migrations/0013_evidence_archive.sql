-- 0013: archived monthly partitions (issue 13; docs/operations.md, "Evidence retention").
--
-- With ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS set, `accesstrail archive` (and the daily
-- `archive` job) writes each monthly partition of a partitioned evidence table that lies
-- wholly before the retention horizon, outside every stored report's period and outside
-- the quarters a report may still be built for, to a gzip NDJSON file (every row
-- verbatim, its batch id and record hash included), checks the file on disk, and only
-- then, in one transaction with the row below, detaches and drops the partition. The
-- evidence chain (evidence_batch) is never touched: `verify --store` reads the archived
-- rows of a batch back from the file (src/store/archive.ts).

-- One archived partition: the manifest. The same facts are in the JSON file beside the
-- archive (manifest_sha256 is that file's SHA-256).
CREATE TABLE evidence_archive (
  id               bigserial PRIMARY KEY,
  table_name       text NOT NULL,                 -- the partitioned evidence table
  partition_name   text NOT NULL,                 -- the dropped partition
  month_from       timestamptz NOT NULL,          -- its bounds [from, to)
  month_to         timestamptz NOT NULL,
  row_count        bigint NOT NULL,
  file_name        text NOT NULL UNIQUE,          -- in ACCESSTRAIL_ARCHIVE_DIR
  file_sha256      text NOT NULL,                 -- of the .ndjson.gz file's bytes
  file_bytes       bigint NOT NULL,
  manifest_sha256  text NOT NULL,
  sources          jsonb NOT NULL DEFAULT '{}',   -- rows per source id
  archived_at      timestamptz NOT NULL DEFAULT now(),
  -- Set when the archive was loaded back into the store (`archive --restore`): its rows
  -- are live again, and a later run archives them anew (a new row, a new file).
  restored_at      timestamptz,
  CHECK (month_to > month_from)
);
-- Readers: the inventory and the report guard (active archives by table and month).
CREATE INDEX evidence_archive_month ON evidence_archive (table_name, month_from);

-- How many rows of each evidence batch an archive holds: `verify --store` accounts for a
-- batch's rows as live + revisions + archived, and knows which files to read.
CREATE TABLE evidence_archive_batch (
  archive_id  bigint NOT NULL REFERENCES evidence_archive (id),
  batch_id    bigint NOT NULL REFERENCES evidence_batch (id),
  row_count   integer NOT NULL,
  PRIMARY KEY (archive_id, batch_id)
);
-- Reader: verify --store, per batch of the chain walk.
CREATE INDEX evidence_archive_batch_batch ON evidence_archive_batch (batch_id);
