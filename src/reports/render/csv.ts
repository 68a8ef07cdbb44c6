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

export function csvDocument(header: readonly string[], rows: Iterable<readonly CsvCell[]>): { content: string; rows: number } {
  const lines = [header.map(csvCell).join(',')];
  let count = 0;
  for (const row of rows) {
    lines.push(row.map(csvCell).join(','));
    count += 1;
  }
  return { content: `${lines.join('\r\n')}\r\n`, rows: count };
}

function file(name: string, header: readonly string[], rows: Iterable<readonly CsvCell[]>): CsvFile {
  const { content, rows: count } = csvDocument(header, rows);
  return { name, content, rows: count };
}

/** One file per population plus findings.csv, in a fixed order. */
export function renderCsvFiles(model: ReportModel): CsvFile[] {
  const p = model.populations;
  return [
    file(
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
      p.humanAccounts.map((r) => [
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
      ]),
    ),
    file(
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
      p.terminatedPeople.map((r) => [
        r.personId,
        r.upn,
        r.terminatedAt,
        r.approximate,
        r.reason,
        r.accountState,
        r.metabaseAccountId,
        r.lastActivity,
        r.removalLagHours,
      ]),
    ),
    file(
      'privileged.csv',
      ['metabase_source_id', 'account_id', 'email', 'person_id', 'via_superuser', 'via_admin_group', 'justified'],
      p.privileged.map((r) => [r.metabaseSourceId, r.accountId, r.email, r.personId, r.viaSuperuser, r.viaAdminGroup, r.justified]),
    ),
    file(
      'privilege-changes.csv',
      ['at', 'account_id', 'email', 'change', 'evidence'],
      p.privilegeChanges.map((r) => [r.at, r.accountId, r.email, r.change, r.evidence]),
    ),
    file(
      'non-human.csv',
      ['metabase_source_id', 'account_id', 'email', 'kind', 'owner', 'last_use'],
      p.nonHuman.map((r) => [r.metabaseSourceId, r.accountId, r.email, r.kind, r.owner, r.lastUse]),
    ),
    file(
      'credentials.csv',
      ['credential_id', 'app_id', 'owner_kind', 'type', 'display_name', 'start', 'end', 'source'],
      p.credentials.map((r) => [r.credentialId, r.appId, r.ownerKind, r.type, r.displayName, r.start, r.end, r.source]),
    ),
    file(
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
      model.findings.map((f) => [
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
      ]),
    ),
  ];
}
