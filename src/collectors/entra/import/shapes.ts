// What each real Entra export looks like, and how a row of it becomes the record
// Microsoft Graph would have returned for the same event (so the evidence tables, the
// correlator and the rules read imports exactly like live collection). Where each
// column comes from: docs/imports.md.
import { createHash } from 'node:crypto';

import shapes from './shapes.json' with { type: 'json' };
import {
  authenticationRequirement,
  cellBoolean,
  cellInteger,
  cellText,
  dynamicValue,
  enumValue,
  parseExportInstant,
  setPath,
} from './values.js';

type Json = Record<string, unknown>;

/** What a file holds; `--kind` takes these. */
export const entraImportKinds = [
  'entra-sign-ins', // user sign-ins, interactive or not as the file says
  'entra-interactive-sign-ins',
  'entra-non-interactive-sign-ins',
  'entra-service-principal-sign-ins',
  'entra-managed-identity-sign-ins',
  'entra-audits',
] as const;
export type EntraImportKind = (typeof entraImportKinds)[number];

const families = ['user-sign-ins', 'workload-sign-ins', 'audits'] as const;
export type Family = (typeof families)[number];
const exportFormats = ['admin-center-csv', 'admin-center-json', 'log-analytics-csv', 'log-analytics-json'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export const familyOf = (kind: EntraImportKind): Family =>
  kind === 'entra-audits'
    ? 'audits'
    : kind === 'entra-service-principal-sign-ins' || kind === 'entra-managed-identity-sign-ins'
      ? 'workload-sign-ins'
      : 'user-sign-ins';

/** A header as compared: trimmed, lower-case, single spaces, Log Analytics' " [UTC]" unit dropped. */
export function columnKey(header: string): string {
  return header
    .replace(/^\ufeff/, '')
    .trim()
    .toLowerCase()
    .replace(/\s+\[utc\]$/, '')
    .replace(/\s+/g, ' ');
}

// --- detection -------------------------------------------------------------------

/** Log Analytics table (its `Type` column) → kind. */
const logAnalyticsTables: Record<string, EntraImportKind> = {
  signinlogs: 'entra-interactive-sign-ins',
  aadnoninteractiveusersigninlogs: 'entra-non-interactive-sign-ins',
  aadserviceprincipalsigninlogs: 'entra-service-principal-sign-ins',
  aadmanagedidentitysigninlogs: 'entra-managed-identity-sign-ins',
  auditlogs: 'entra-audits',
};
/** Sign-in tables' `Category` column → kind (the same tables, as diagnostic-settings categories). */
const logAnalyticsCategories: Record<string, EntraImportKind> = {
  signinlogs: 'entra-interactive-sign-ins',
  noninteractiveusersigninlogs: 'entra-non-interactive-sign-ins',
  serviceprincipalsigninlogs: 'entra-service-principal-sign-ins',
  managedidentitysigninlogs: 'entra-managed-identity-sign-ins',
};
/** Graph's signInEventTypes → kind. */
const eventTypeKinds: Record<string, EntraImportKind> = {
  interactiveuser: 'entra-interactive-sign-ins',
  noninteractiveuser: 'entra-non-interactive-sign-ins',
  serviceprincipal: 'entra-service-principal-sign-ins',
  managedidentity: 'entra-managed-identity-sign-ins',
};

export interface Detection {
  format: ExportFormat;
  family: Family;
  /** How the family was told (for error messages). */
  because: string;
}

/** Groups of columns, each satisfied by any one of its columns being present. */
type Needs = readonly (readonly string[])[];
interface Recogniser {
  formats: Partial<Record<'csv' | 'json', ExportFormat>>;
  needs: Needs;
  families: ReadonlyArray<{ family: Family; needs: Needs; because: string }>;
  otherwise?: string;
}

/** The recognisers of shapes.json (data: which columns tell each format and family),
 *  checked once at load: a family or format this file does not know stops the module. */
const recognisers: readonly Recogniser[] = shapes.detection.recognisers.map((recogniser) => {
  for (const format of Object.values(recogniser.formats)) {
    if (!exportFormats.includes(format as ExportFormat)) throw new Error(`shapes.json: unknown export format "${format}"`);
  }
  for (const { family } of recogniser.families) {
    if (!families.includes(family as Family)) throw new Error(`shapes.json: unknown family "${family}"`);
  }
  return recogniser as Recogniser;
});

/** The format and family of an export from its columns (CSV header or a JSON record's keys). */
export function detect(columns: readonly string[], json: boolean): Detection | { error: string } {
  const keys = new Set(columns.map(columnKey));
  const holds = (needs: Needs) => needs.every((group) => group.some((name) => keys.has(name)));
  for (const recogniser of recognisers) {
    const format = recogniser.formats[json ? 'json' : 'csv'];
    if (!format || !holds(recogniser.needs)) continue;
    const match = recogniser.families.find((candidate) => holds(candidate.needs));
    if (match) return { format, family: match.family, because: match.because };
    if (recogniser.otherwise) return { error: recogniser.otherwise };
  }
  return { error: shapes.detection.notAnExport };
}

/** The kind a file's name suggests (admin center downloads are named InteractiveSignIns_…, NonInteractiveSignIns_…, ApplicationSignIns_…, MSISignIns_…, AuditLogs_…). Renamable, so only a hint. */
export function kindFromFileName(name: string): EntraImportKind | undefined {
  const base = name.toLowerCase().replace(/[^a-z]/g, '');
  if (base.includes('noninteractive')) return 'entra-non-interactive-sign-ins';
  if (base.includes('interactive')) return 'entra-interactive-sign-ins';
  if (base.includes('managedidentit') || base.startsWith('msi')) return 'entra-managed-identity-sign-ins';
  if (base.includes('serviceprincipal') || base.includes('applicationsignin')) return 'entra-service-principal-sign-ins';
  if (base.includes('audit')) return 'entra-audits';
  return undefined;
}

/** The kind one record says it is (Log Analytics Type/Category, Graph signInEventTypes/isInteractive), if it says. */
export function kindOfRecord(record: Json, cells: Json): EntraImportKind | undefined {
  const type = cellText(cells['Type'] ?? cells['type'])?.toLowerCase();
  if (type && logAnalyticsTables[type]) return logAnalyticsTables[type];
  const category = cellText(cells['Category'] ?? cells['category'])?.toLowerCase();
  if (category && logAnalyticsCategories[category]) return logAnalyticsCategories[category];
  const eventTypes = record['signInEventTypes'];
  if (Array.isArray(eventTypes)) {
    for (const value of eventTypes) {
      const kind = typeof value === 'string' ? eventTypeKinds[value.toLowerCase()] : undefined;
      if (kind) return kind;
    }
  }
  if (typeof record['isInteractive'] === 'boolean')
    return record['isInteractive'] ? 'entra-interactive-sign-ins' : 'entra-non-interactive-sign-ins';
  return undefined;
}

// --- column vocabularies -------------------------------------------------------

type Convert = (value: unknown) => unknown;
const asText: Convert = (value) => cellText(value);
const asEnum: Convert = (value) => enumValue(value);
const asInteger: Convert = (value) => cellInteger(value);
const asBoolean: Convert = (value) => cellBoolean(value);
const asInstant: Convert = (value) =>
  parseExportInstant(value) ?? (cellText(value) === undefined ? undefined : { invalid: cellText(value) });
const asDynamic: Convert = (value) => dynamicValue(value);
const asRequirement: Convert = (value) => authenticationRequirement(value);
const asLower: Convert = (value) => cellText(value)?.toLowerCase();

type Vocabulary = Record<string, [path: string, convert: Convert]>;

/** How a column's value is read, by the name shapes.json gives it. */
const converters: Readonly<Record<string, Convert>> = {
  text: asText,
  enum: asEnum,
  integer: asInteger,
  boolean: asBoolean,
  instant: asInstant,
  dynamic: asDynamic,
  requirement: asRequirement,
  lower: asLower,
};

/** A vocabulary of shapes.json (data: the columns of one export format and the Graph field
 *  each becomes, with its source), its converters resolved once at load; a converter the
 *  table names but this file lacks stops the import module from loading. */
function vocabulary(name: 'adminCenterSignIn' | 'logAnalyticsSignIn' | 'logAnalyticsAudit' | 'adminCenterAudit'): Vocabulary {
  const columns: Record<string, readonly string[]> = shapes.vocabularies[name].columns;
  return Object.fromEntries(
    Object.entries(columns).map(([column, [path, kind]]) => {
      const convert = converters[kind!];
      if (!path || !convert)
        throw new Error(`shapes.json ${name}: column "${column}" has no Graph field or an unknown converter "${kind}"`);
      return [column, [path, convert]];
    }),
  );
}

const adminCenterSignIn = vocabulary('adminCenterSignIn');
const logAnalyticsSignIn = vocabulary('logAnalyticsSignIn');
const logAnalyticsAudit = vocabulary('logAnalyticsAudit');
const adminCenterAudit = vocabulary('adminCenterAudit');

// --- row → Graph record ----------------------------------------------------------

export interface GraphShaped {
  /** The record as Graph would have sent it. */
  record: Json;
  /** Cells with no Graph counterpart, kept verbatim (non-empty only). */
  extra: Record<string, string>;
  /** Column values that should have been times and are not. */
  invalid: string[];
}

/** Turns rows of one file into Graph records; compiled once per file from its header. */
export type RowMapper = (cells: Json) => GraphShaped;

function vocabularyOf(format: ExportFormat, family: Family): Vocabulary | null {
  if (format === 'admin-center-json') return null;
  if (format === 'admin-center-csv') return family === 'audits' ? adminCenterAudit : adminCenterSignIn;
  return family === 'audits' ? logAnalyticsAudit : logAnalyticsSignIn;
}

export function rowMapper(format: ExportFormat, family: Family): RowMapper {
  const vocabulary = vocabularyOf(format, family);
  if (!vocabulary) return (cells) => ({ record: graphRecord(cells), extra: {}, invalid: [] });
  const resolved = new Map<string, { path: string; convert: Convert } | { audit: true } | null>();
  const resolve = (header: string) => {
    let entry = resolved.get(header);
    if (entry === undefined) {
      const key = columnKey(header);
      const hit = vocabulary[key];
      entry = hit
        ? { path: hit[0], convert: hit[1] }
        : format === 'admin-center-csv' && family === 'audits' && auditColumn(key.replace(/\s+/g, ''))
          ? { audit: true }
          : null;
      resolved.set(header, entry);
    }
    return entry;
  };
  return (cells) => {
    const record: Json = {};
    const extra: Record<string, string> = {};
    const invalid: string[] = [];
    const auditCells: [string, string][] = [];
    for (const [header, value] of Object.entries(cells)) {
      if (value === undefined || value === null || value === '') continue;
      const entry = resolve(header);
      if (!entry) {
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        if (text.trim() !== '') extra[header.trim()] = text;
        continue;
      }
      if ('audit' in entry) {
        auditCells.push([columnKey(header).replace(/\s+/g, ''), String(value)]);
        continue;
      }
      const converted = entry.convert(value);
      if (converted && typeof converted === 'object' && 'invalid' in converted && entry.convert === asInstant) {
        invalid.push(`${header.trim()} ${JSON.stringify((converted as { invalid: string }).invalid).slice(0, 60)} is not a date`);
        continue;
      }
      // A column present twice (the admin center repeats "Incoming token type") keeps its first value.
      if (entry.path in record && !entry.path.includes('.')) continue;
      setPath(record, entry.path, converted);
    }
    if (family === 'user-sign-ins' || family === 'workload-sign-ins') finishSignIn(record, cells, format);
    if (family === 'audits') finishAudit(record, cells, format, auditCells);
    return { record, extra, invalid };
  };
}

/** Admin center JSON is Graph's own shape; only the portal-isms are normalised. */
function graphRecord(cells: Json): Json {
  const record = { ...cells };
  if ('authenticationRequirement' in record) {
    const requirement = authenticationRequirement(record['authenticationRequirement']);
    if (requirement) record['authenticationRequirement'] = requirement;
    else delete record['authenticationRequirement'];
  }
  return record;
}

function finishSignIn(record: Json, cells: Json, format: ExportFormat): void {
  if (format === 'log-analytics-csv' || format === 'log-analytics-json') {
    if (record['createdDateTime'] === undefined) {
      const generated = parseExportInstant(cells['TimeGenerated [UTC]'] ?? cells['TimeGenerated'] ?? cells['timegenerated']);
      if (generated) record['createdDateTime'] = generated;
    }
    // ResultType carries the error code as text ("0", "50126"); Status has it as a number.
    const status = (record['status'] && typeof record['status'] === 'object' ? record['status'] : {}) as Json;
    if (typeof status['errorCode'] !== 'number') {
      const code = cellInteger(lookup(cells, 'resulttype'));
      if (code !== undefined) status['errorCode'] = code;
    }
    if (status['failureReason'] === undefined) {
      const reason = cellText(lookup(cells, 'resultdescription'));
      if (reason) status['failureReason'] = reason;
    }
    if (Object.keys(status).length) record['status'] = status;
    else delete record['status'];
  }
  if (typeof record['userPrincipalName'] === 'string') record['userPrincipalName'] = record['userPrincipalName'].toLowerCase();
}

function lookup(cells: Json, key: string): unknown {
  for (const [header, value] of Object.entries(cells)) if (columnKey(header) === key) return value;
  return undefined;
}

const targetField = /^target(\d+)(type|displayname|objectid|userprincipalname)$/;
const modifiedField = /^target(\d+)modifiedproperty(\d+)(name|oldvalue|newvalue)$/;
const detailField = /^additionaldetail(\d+)(key|value)$/;
const actorField =
  /^actor(type|displayname|objectid|userprincipalname|hometenantid|hometenantname|serviceprincipalid|serviceprincipalname)$|^ipaddress$/;

function auditColumn(key: string): boolean {
  return targetField.test(key) || modifiedField.test(key) || detailField.test(key) || actorField.test(key);
}

/** Rebuilds initiatedBy, targetResources (with modifiedProperties) and additionalDetails
 *  from the admin center's flattened columns, and derives the id the download lacks. */
function finishAudit(record: Json, cells: Json, format: ExportFormat, auditCells: [string, string][]): void {
  if (format === 'log-analytics-csv' || format === 'log-analytics-json') {
    if (record['activityDateTime'] === undefined) {
      const generated = parseExportInstant(lookup(cells, 'timegenerated'));
      if (generated) record['activityDateTime'] = generated;
    }
    if (record['activityDisplayName'] === undefined) {
      const operation = cellText(lookup(cells, 'operationname'));
      if (operation) record['activityDisplayName'] = operation;
    }
    return;
  }
  const targets: Json[] = [];
  const details: Json[] = [];
  const actor: Record<string, string> = {};
  for (const [key, value] of auditCells) {
    const text = value.trim();
    if (text === '') continue;
    let m = targetField.exec(key);
    if (m) {
      const target = (targets[Number(m[1]) - 1] ??= {});
      target[{ type: 'type', displayname: 'displayName', objectid: 'id', userprincipalname: 'userPrincipalName' }[m[2] as 'type']] = text;
      continue;
    }
    m = modifiedField.exec(key);
    if (m) {
      const target = (targets[Number(m[1]) - 1] ??= {});
      const properties = ((target['modifiedProperties'] as Json[] | undefined) ??= []);
      const property = (properties[Number(m[2]) - 1] ??= {});
      property[{ name: 'displayName', oldvalue: 'oldValue', newvalue: 'newValue' }[m[3] as 'name']] = text;
      continue;
    }
    m = detailField.exec(key);
    if (m) {
      ((details[Number(m[1]) - 1] ??= {}) as Json)[m[2] === 'key' ? 'key' : 'value'] = text;
      continue;
    }
    actor[key] = text;
  }
  const compact = (items: Json[]) => items.filter((item) => item && Object.keys(item).length > 0);
  for (const target of targets)
    if (target && Array.isArray(target['modifiedProperties']))
      target['modifiedProperties'] = compact(target['modifiedProperties'] as Json[]);
  if (targets.length) record['targetResources'] = compact(targets);
  if (details.length) record['additionalDetails'] = compact(details);
  const isUser =
    (actor['actortype'] ?? '').toLowerCase() === 'user' ||
    (actor['actoruserprincipalname'] !== undefined && actor['actortype'] === undefined);
  if (isUser) {
    const user: Json = {};
    setPath(user, 'id', actor['actorobjectid']);
    setPath(user, 'displayName', actor['actordisplayname']);
    setPath(user, 'userPrincipalName', actor['actoruserprincipalname']);
    setPath(user, 'ipAddress', actor['ipaddress']);
    record['initiatedBy'] = { user };
  } else if (Object.keys(actor).some((key) => key !== 'actortype')) {
    const app: Json = {};
    setPath(app, 'servicePrincipalId', actor['actorserviceprincipalid'] ?? actor['actorobjectid']);
    setPath(app, 'displayName', actor['actorserviceprincipalname'] ?? actor['actordisplayname']);
    record['initiatedBy'] = { app };
  }
  if (record['id'] === undefined) record['id'] = derivedAuditId(record);
}

/**
 * The admin center's audit CSV has no id column. The id is derived from the record's
 * content — time, correlation id, service, category, activity, result, reason,
 * initiator and targets (with their modified properties) — so the same event in any
 * later download gets the same id (re-imports upsert, never duplicate). Two events
 * identical in all of these are indistinguishable in a CSV and become one. A Graph
 * collection of the same event carries Graph's own id ("Directory_…") and is a
 * separate row: the CSV does not carry that id.
 */
export function derivedAuditId(record: Json): string {
  const content = JSON.stringify([
    record['activityDateTime'] ?? null,
    record['correlationId'] ?? null,
    record['loggedByService'] ?? null,
    record['category'] ?? null,
    record['activityDisplayName'] ?? null,
    record['result'] ?? null,
    record['resultReason'] ?? null,
    record['initiatedBy'] ?? null,
    record['targetResources'] ?? null,
  ]);
  return `csv-${createHash('sha256').update(content).digest('hex').slice(0, 32)}`;
}
