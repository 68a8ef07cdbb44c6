-- 0011: what the API's reads need at size (issue 13).
--
-- A stored report's JSON as the API serves it: the canonical JSON of the signed model
-- (the byte form its content hash and signature are defined over, and the bytes of the
-- report's JSON file), with the SHA-256 of those bytes as the response's strong ETag.
-- `content` (jsonb) keeps the model for the other renderings; jsonb does not keep key
-- order or spacing, so serving it meant parsing and re-serialising 150+ KB per request,
-- and the result was not in canonical form. Filled by the API on a report's first read
-- (reports stored before this migration, or by a writer that does not set it) and never
-- changed afterwards: a report row is immutable.
ALTER TABLE report ADD COLUMN content_json text;
ALTER TABLE report ADD COLUMN content_json_sha256 text;
-- Served whole on every read: stored out of line but uncompressed, so a read is a copy,
-- not a decompression (a few reports per quarter; the space does not matter).
ALTER TABLE report ALTER COLUMN content_json SET STORAGE EXTERNAL;
