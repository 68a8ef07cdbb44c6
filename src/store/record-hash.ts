// The SQL that hashes an evidence row, shared by the writer and the verifier so the two
// can never disagree. A row's hash covers its normalised columns and its verbatim record
// (not its managed columns), as the canonical jsonb text of one array.
import type { EvidenceTableSpec } from './tables.js';

const hashOf = (jsonArray: string) => `encode(sha256(convert_to((${jsonArray})::text, 'UTF8')), 'hex')`;

/** Leading element: occurred_at for events (tampering with the time shows), present for state. */
function leadColumn(spec: EvidenceTableSpec): string {
  return spec.kind === 'event' ? 'occurred_at' : 'present';
}

/** Hash of a live row; `alias` is the row's table alias. */
export function rowHashSql(spec: EvidenceTableSpec, alias: string): string {
  const columns = [leadColumn(spec), ...spec.columns.map((column) => column.name), 'raw'];
  return hashOf(`jsonb_build_array(${columns.map((column) => `${alias}.${column}`).join(', ')})`);
}

/** Hash of an archived row kept as jsonb in evidence_revision.row_data. */
export function archivedRowHashSql(spec: EvidenceTableSpec, rowData: string): string {
  const columns = [leadColumn(spec), ...spec.columns.map((column) => column.name), 'raw'];
  return hashOf(`jsonb_build_array(${columns.map((column) => `${rowData}->'${column}'`).join(', ')})`);
}

/** Hash of a tombstone (an object no longer listed): present = false, all else NULL. */
export function tombstoneHashSql(spec: EvidenceTableSpec): string {
  const nulls = [...spec.columns.map(() => 'null'), 'null'];
  return hashOf(`jsonb_build_array(false, ${nulls.join(', ')})`);
}

/** The key a row is listed under in its batch's content hash. */
export function batchKeySql(spec: EvidenceTableSpec, alias: string): string {
  return spec.kind === 'event'
    ? `${alias}.upstream_id`
    : `${alias}.upstream_id || '@' || to_char(${alias}.observed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Content hash over (key, record hash) pairs, in a fixed order. */
export function contentHashAggregateSql(key: string, hash: string): string {
  return `encode(sha256(convert_to(coalesce(string_agg(${key} || ':' || ${hash}, E'\\n' order by ${key}, ${hash}), ''), 'UTF8')), 'hex')`;
}
