// CSV populations for auditors who sample in a spreadsheet. RFC 4180: CRLF line ends,
// fields quoted when they hold a comma, quote, CR or LF, quotes doubled. Spreadsheets
// execute a cell that begins with = + - @ (and tab or CR in some of them) as a formula,
// and every value here can come from upstream free text (display names, e-mails), so
// such text cells get a leading apostrophe (OWASP "CSV injection"). Numbers and
// booleans are written as such and are never formulas.
import type { ReportModel } from '../model.js';

export type CsvCell = string | number | boolean | null | undefined;

export interface CsvFile {
  /** File name suffix, e.g. `human-accounts.csv`. */
  name: string;
  content: string;
  rows: number;
}

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const safe = neutraliseCell(value);
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Writes a CSV document to `sink` a line at a time; returns the number of rows. */
export function writeCsv(header: readonly string[], rows: Iterable<readonly CsvCell[]>, sink: (piece: string) => void): number {
  sink(`${header.map(csvCell).join(',')}\r\n`);
  let count = 0;
  for (const row of rows) {
    sink(`${row.map(csvCell).join(',')}\r\n`);
    count += 1;
  }
  return count;
}

export function csvDocument(header: readonly string[], rows: Iterable<readonly CsvCell[]>): { content: string; rows: number } {
  const lines: string[] = [];
  const count = writeCsv(header, rows, (line) => lines.push(line));
  return { content: lines.join(''), rows: count };
}

/** A CSV file of the report before it is written: its header and its rows, produced as they are read. */
export interface CsvTable {
  /** File name suffix, e.g. `human-accounts.csv`. */
  name: string;
  header: readonly string[];
  rows: Iterable<readonly CsvCell[]>;
}

/** Rows of `items` as `cells` gives them, one at a time (no copy of a large population). */
function* rowsOf<T>(items: Iterable<T>, cells: (item: T) => readonly CsvCell[]): Iterable<readonly CsvCell[]> {
  for (const item of items) yield cells(item);
}

/** One table per population plus findings.csv, in a fixed order. */
export function csvTables(model: ReportModel): CsvTable[] {
  const p = model.populations;
  const table = <T>(name: string, header: readonly string[], items: Iterable<T>, cells: (item: T) => readonly CsvCell[]): CsvTable => ({
    name,
    header,
    rows: rowsOf(items, cells),
  });
  return [
    table(
      'human-accounts.csv',
      [
        'metabase_source_id',
        'account_id',
        'email',
        'active',
        'sso_source',
        'link_status',
        'link_method',
        'person_id',
        'upn',
        'privileged',
        'date_joined',
        'first_activity',
        'last_activity',
        'last_sign_in',
      ],
      p.humanAccounts,
      (r) => [
        r.metabaseSourceId,
        r.accountId,
        r.email,
        r.active,
        r.ssoSource,
        r.linkStatus,
        r.linkMethod,
        r.personId,
        r.upn,
        r.privileged,
        r.dateJoined,
        r.firstActivity,
        r.lastActivity,
        r.lastSignIn,
      ],
    ),
    table(
      'terminated-people.csv',
      [
        'person_id',
        'upn',
        'terminated_at',
        'approximate',
        'reason',
        'account_state',
        'metabase_account_id',
        'last_activity',
        'removal_lag_hours',
      ],
      p.terminatedPeople,
      (r) => [
        r.personId,
        r.upn,
        r.terminatedAt,
        r.approximate,
        r.reason,
        r.accountState,
        r.metabaseAccountId,
        r.lastActivity,
        r.removalLagHours,
      ],
    ),
    table(
      'privileged.csv',
      ['metabase_source_id', 'account_id', 'email', 'person_id', 'via_superuser', 'via_admin_group', 'justified'],
      p.privileged,
      (r) => [r.metabaseSourceId, r.accountId, r.email, r.personId, r.viaSuperuser, r.viaAdminGroup, r.justified],
    ),
    table('privilege-changes.csv', ['at', 'account_id', 'email', 'change', 'evidence'], p.privilegeChanges, (r) => [
      r.at,
      r.accountId,
      r.email,
      r.change,
      r.evidence,
    ]),
    table('non-human.csv', ['metabase_source_id', 'account_id', 'email', 'kind', 'owner', 'last_use'], p.nonHuman, (r) => [
      r.metabaseSourceId,
      r.accountId,
      r.email,
      r.kind,
      r.owner,
      r.lastUse,
    ]),
    table(
      'credentials.csv',
      ['credential_id', 'app_id', 'owner_kind', 'type', 'display_name', 'start', 'end', 'source'],
      p.credentials,
      (r) => [r.credentialId, r.appId, r.ownerKind, r.type, r.displayName, r.start, r.end, r.source],
    ),
    table(
      'findings.csv',
      [
        'finding_id',
        'rule',
        'severity',
        'person_id',
        'upn',
        'metabase_account_id',
        'email',
        'credential_id',
        'source',
        'summary',
        'first_seen',
        'last_seen',
        'evidence_count',
        'evidence',
      ],
      model.findings,
      (f) => [
        f.id,
        f.rule,
        f.severity,
        f.subject.personId,
        f.subject.upn,
        f.subject.metabaseAccountId,
        f.subject.email,
        f.subject.credentialId,
        f.subject.source,
        f.summary,
        f.firstSeen,
        f.lastSeen,
        f.evidence.length,
        // Evidence as `source:id@at` joined by spaces: one cell an auditor can filter on.
        f.evidence.map((e) => `${e.source}:${e.id}${e.at ? `@${e.at}` : ''}`).join(' '),
      ],
    ),
  ];
}

/** Every CSV file of the report as text (the API and the console serve one at a time). */
export function renderCsvFiles(model: ReportModel): CsvFile[] {
  return csvTables(model).map((table) => ({ name: table.name, ...csvDocument(table.header, table.rows) }));
}
