// A finding as GET /v1/findings serves it, made in Postgres from the finding's columns
// (FINDING_JSON), and stored with the finding when its run stores them (finding.api_json,
// migration 0017): a run's findings never change, so a page is then its rows' texts
// joined. Findings stored before 0017 have no stored text and are made per request, by
// the same expression: the same bytes either way (test/integration/api-findings-json.test.ts).
import { type RawBuilder, sql, type Transaction } from 'kysely';

import type { Database } from '../store/schema.js';
import type { RuleFinding } from './types.js';

/** The columns of a finding the API and the console show (its `detail` is internal). */
export const FINDING_COLUMNS = [
  'id',
  'rule',
  'severity',
  'person_id',
  'upn',
  'account_id',
  'email',
  'credential_id',
  'subject_source',
  'summary',
  'first_seen',
  'last_seen',
  'evidence',
] as const;

/** A timestamptz as JavaScript's toISOString writes it (milliseconds, truncated as the
 *  driver's Date truncates microseconds; UTC with Z), as a JSON string or null. */
function isoJson(expression: RawBuilder<unknown>): RawBuilder<string> {
  return sql<string>`coalesce('"' || to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')`;
}

/** A text column as a JSON string (Postgres escapes as JSON.stringify does), or null. */
function textJson(column: string): RawBuilder<string> {
  return sql<string>`coalesce(to_json(${sql.ref(`f.${column}`)})::text, 'null')`;
}

/**
 * A finding as the API serves it (findingSchema and toFinding in
 * src/api/routes/findings.routes.ts), made in Postgres: the same fields in the same
 * order, byte for byte what JSON.stringify writes for toFinding's object
 * (test/integration/api-findings-json.test.ts compares them over awkward rows). A page
 * is then these texts joined, with no jsonb parsed into objects, no dates parsed and
 * formatted again and no schema walk in the API process. Evidence references are
 * {source, id, at} as correlation writes them; a missing source or id is "", an `at`
 * that is not a string is null, and an `at` string is normalised to UTC milliseconds.
 */
export const FINDING_JSON = sql<string>`'{"id":' || to_json(f.id)::text
  || ',"rule":' || to_json(f.rule)::text
  || ',"severity":' || to_json(f.severity)::text
  || ',"subject":{"personId":' || ${textJson('person_id')}
  || ',"upn":' || ${textJson('upn')}
  || ',"metabaseAccountId":' || ${textJson('account_id')}
  || ',"email":' || ${textJson('email')}
  || ',"credentialId":' || ${textJson('credential_id')}
  || ',"source":' || ${textJson('subject_source')}
  || '},"summary":' || to_json(f.summary)::text
  || ',"firstSeen":' || ${isoJson(sql`f.first_seen`)}
  || ',"lastSeen":' || ${isoJson(sql`f.last_seen`)}
  || ',"evidence":[' || case when jsonb_typeof(f.evidence) = 'array' then coalesce((
    select string_agg('{"source":' || to_json(coalesce(ref.value->>'source', ''))::text
      || ',"id":' || to_json(coalesce(ref.value->>'id', ''))::text
      || ',"at":' || case when jsonb_typeof(ref.value->'at') = 'string'
        then ${isoJson(sql`(ref.value->>'at')::timestamptz`)} else 'null' end
      || '}', ',' order by ref.position)
    from jsonb_array_elements(f.evidence) with ordinality as ref(value, position)), '') else '' end
  || ']}'`;

/** A finding's served JSON: the text stored with it, or made now for a finding stored
 *  before migration 0017 (COALESCE does not evaluate the second when the first is set). */
export const storedFindingJson = sql<string>`coalesce(f.api_json, ${FINDING_JSON})`;

/** Stores a run's findings with their served JSON, made by FINDING_JSON as each row goes
 *  in: each part of 1,000 is one JSON parameter that Postgres turns into rows of the table
 *  (jsonb_populate_recordset), so every row is written once. Inserting the rows and then
 *  setting their JSON in an UPDATE wrote each finding twice and left a dead version of it
 *  for vacuum (the time is the same either way: 7,221 findings at the 1M benchmark in
 *  about 2 s, a third of it FINDING_JSON's evidence lists). */
export async function insertFindings(trx: Transaction<Database>, runId: number, findings: readonly RuleFinding[]): Promise<void> {
  for (let i = 0; i < findings.length; i += 1000) {
    const rows = findings.slice(i, i + 1000).map((f) => ({
      run_id: runId,
      id: f.id,
      rule: f.rule,
      severity: f.severity,
      person_id: f.subject.personId,
      upn: f.subject.upn,
      account_id: f.subject.metabaseAccountId,
      email: f.subject.email,
      credential_id: f.subject.credentialId,
      subject_source: f.subject.source,
      summary: f.summary,
      first_seen: f.firstSeen,
      last_seen: f.lastSeen,
      evidence: f.evidence,
      detail: f.detail,
    }));
    await sql`
      insert into finding (run_id, id, rule, severity, person_id, upn, account_id, email, credential_id, subject_source,
                           summary, first_seen, last_seen, evidence, detail, api_json)
      select f.run_id, f.id, f.rule, f.severity, f.person_id, f.upn, f.account_id, f.email, f.credential_id, f.subject_source,
             f.summary, f.first_seen, f.last_seen, f.evidence, f.detail, ${FINDING_JSON}
      from jsonb_populate_recordset(null::finding, ${JSON.stringify(rows)}::jsonb) as f`.execute(trx);
  }
}
