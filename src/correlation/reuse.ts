// Reusing a correlation run (issue 13): a report whose period, as-of, parameters, app ids
// and admin groups are those of a succeeded run, over a store in which nothing that run
// read has changed since it started, evaluates to that run's results exactly, so the
// report reads them instead of correlating again (at 1M sign-ins, a correlation is most
// of a report's time).
//
// "Nothing changed" is a fingerprint taken when a run starts (before it reads anything)
// and stored in its summary: the request, the correlation code and rule catalogue, the
// newest evidence batch (every write of evidence appends one, chain.ts), the partitions
// of the evidence tables (retention detaches them), and the content of the small tables
// correlation reads besides evidence (sources, coverage, capabilities, retention
// observations, snapshots, manual links). A batch committed while a run was reading
// gives a later fingerprint that differs, so that run is never reused for it.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Kysely, type Selectable, sql } from 'kysely';

import type { Database, FindingTable } from '../store/schema.js';
import { allEvidenceTables } from '../store/tables.js';
import { FINDING_COLUMNS } from './finding-json.js';
import { defaultCatalogueDir } from './rule-catalogue.js';
import type { RuleFinding, Severity } from './types.js';

/** What a run's result depends on besides the store. */
export interface CorrelationInputsRequest {
  period: { from: Date; to: Date };
  asOf: Date;
  parameters: unknown;
  metabaseAppIds: readonly string[];
  adminGroupIds: readonly string[];
  ruleIds: readonly string[];
}

/** JSON with object keys sorted, so equal requests give equal text. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

let codeVersion: string | undefined;

/** SHA-256 of the correlation code (this folder, rules and their SQL included, as .ts or
 *  as compiled .js) and of the rule catalogue: a run made by other code is not reused. */
export function correlationCodeSha256(): string {
  if (codeVersion) return codeVersion;
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.(ts|js|sql)$/.test(entry.name)) hash.update(`${entry.name}\n`).update(readFileSync(file));
    }
  };
  walk(path.dirname(fileURLToPath(import.meta.url)));
  hash.update(readFileSync(path.join(defaultCatalogueDir(), 'rules.json')));
  codeVersion = hash.digest('hex');
  return codeVersion;
}

const ROW_TABLES = ['source', 'coverage_window', 'source_capability', 'retention_observation', 'snapshot', 'manual_identity_link'] as const;

/** The fingerprint of a run's inputs (see the top of this file). */
export async function correlationInputsSha256(db: Kysely<Database>, request: CorrelationInputsRequest): Promise<string> {
  const evidenceTables = allEvidenceTables.map((spec) => spec.name);
  const tableDigests = ROW_TABLES.map(
    (table) => sql`(select md5(coalesce(string_agg(t::text, chr(10) order by t::text), '')) from ${sql.table(table)} t)`,
  );
  const { rows } = await sql<Record<string, string | number | null>>`
    select (select coalesce(max(id), 0) from evidence_batch)::text as batch,
           (select coalesce(string_agg(c.relname, ',' order by c.relname), '') from pg_inherits i
              join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
              where p.relname = any(${evidenceTables}::text[])) as partitions,
           ${sql.join(tableDigests.map((digest, index) => sql`${digest} as ${sql.ref(ROW_TABLES[index]!)}`))}`.execute(db);
  const store = rows[0] ?? {};
  return createHash('sha256')
    .update(
      stableJson({
        request: { ...request, ruleIds: [...request.ruleIds] },
        code: correlationCodeSha256(),
        store,
      }),
    )
    .digest('hex');
}

/** What a succeeded run's summary holds (correlate.ts writes it). */
export interface StoredRunSummary {
  inputsSha256?: string;
  links: Record<string, number>;
  matches: Record<string, number>;
  people: number;
  accounts: number;
  terminatedIntervals: number;
  findings: number;
  timings: Record<string, number>;
  /** How many connections matched the logins at once (matching.ts). */
  matchingSlices?: number;
  stateObservedAt?: string | null;
}

/** Whether the derived rows of a run (links, intervals, matches) are all still stored:
 *  the latest runs keep them (correlate.ts prunes older ones). */
export async function derivedRowsPresent(
  db: Kysely<Database>,
  runId: number,
  summary: Pick<StoredRunSummary, 'links' | 'matches' | 'terminatedIntervals'>,
): Promise<boolean> {
  const { rows } = await sql<{ links: number; intervals: number; matches: number }>`
    select (select count(*) from identity_link where run_id = ${runId})::int as links,
           (select count(*) from person_terminated_interval where run_id = ${runId})::int as intervals,
           (select count(*) from login_match where run_id = ${runId})::int as matches`.execute(db);
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const row = rows[0];
  return (
    row !== undefined &&
    row.links === sum(summary.links) &&
    row.intervals === summary.terminatedIntervals &&
    row.matches === sum(summary.matches)
  );
}

/** The newest succeeded run of these inputs whose derived rows are still stored. */
export async function findReusableRun(
  db: Kysely<Database>,
  options: { inputsSha256: string; purpose: 'current' | 'report'; keepRuns: number },
): Promise<{ id: number; summary: StoredRunSummary } | undefined> {
  const { rows } = await sql<{ id: number; summary: StoredRunSummary }>`
    select id, summary from correlation_run
    where status = 'succeeded' and purpose = ${options.purpose} and summary->>'inputsSha256' = ${options.inputsSha256}
      and id > (select max(id) from correlation_run) - ${options.keepRuns}
    order by id desc limit 1`.execute(db);
  const run = rows[0];
  if (!run) return undefined;
  const id = Number(run.id);
  return (await derivedRowsPresent(db, id, run.summary)) ? { id, summary: run.summary } : undefined;
}

export interface StoredRuleEvaluation {
  rule: string;
  status: 'evaluated' | 'not-evaluable';
  reason: string | null;
  parameters: Record<string, unknown>;
  detail: Record<string, unknown>;
  notEvaluableCount: number;
  seconds: number;
  findings: RuleFinding[];
}

/** A run's rule evaluations and findings as the run produced them (findings by id). */
export async function loadRuleEvaluations(db: Kysely<Database>, runId: number): Promise<Map<string, StoredRuleEvaluation>> {
  const evaluations = await db.selectFrom('rule_evaluation').selectAll().where('run_id', '=', runId).execute();
  const findings = await db
    .selectFrom('finding')
    // Not api_json: the served text is the API's, and the run's findings are rebuilt from their columns.
    .select([...FINDING_COLUMNS, 'detail'])
    .where('run_id', '=', runId)
    .orderBy('rule')
    .orderBy('id')
    .execute();
  const out = new Map<string, StoredRuleEvaluation>();
  for (const row of evaluations) {
    const { notEvaluableCount, ...detail } = row.detail as Record<string, unknown>;
    out.set(row.rule, {
      rule: row.rule,
      status: row.status as StoredRuleEvaluation['status'],
      reason: row.reason,
      parameters: row.parameters as Record<string, unknown>,
      detail,
      notEvaluableCount: Number(notEvaluableCount ?? 0),
      seconds: Number(row.seconds ?? 0),
      findings: [],
    });
  }
  const at = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));
  for (const row of findings) {
    out.get(row.rule)?.findings.push({
      id: row.id,
      rule: row.rule,
      severity: row.severity as Severity,
      subject: findingSubjectOf(row),
      summary: row.summary,
      firstSeen: at(row.first_seen),
      lastSeen: at(row.last_seen),
      evidence: (row.evidence as { source: string; id: string; at: string | null }[]).map((e) => ({
        source: e.source,
        id: e.id,
        at: at(e.at),
      })),
      detail: row.detail as Record<string, unknown>,
    });
  }
  return out;
}

/** The subject of a stored finding row (table `finding`), as the rules made it. The API
 *  serves the same shape. */
export function findingSubjectOf(
  row: Pick<Selectable<FindingTable>, 'person_id' | 'upn' | 'account_id' | 'email' | 'credential_id' | 'subject_source'>,
): RuleFinding['subject'] {
  return {
    personId: row.person_id,
    upn: row.upn,
    metabaseAccountId: row.account_id,
    email: row.email,
    credentialId: row.credential_id,
    source: row.subject_source,
  };
}
