// What each real Entra export looks like, and how a row of it becomes the record
// Microsoft Graph would have returned for the same event (so the evidence tables, the
// correlator and the rules read imports exactly like live collection). Where each
// column comes from: docs/imports.md.
import { createHash } from 'node:crypto';

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

export type Family = 'user-sign-ins' | 'workload-sign-ins' | 'audits';
export type ExportFormat = 'admin-center-csv' | 'admin-center-json' | 'log-analytics-csv' | 'log-analytics-json';

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

/** The format and family of an export from its columns (CSV header or a JSON record's keys). */
export function detect(columns: readonly string[], json: boolean): Detection | { error: string } {
  const keys = new Set(columns.map(columnKey));
  const has = (...names: string[]) => names.some((name) => keys.has(name));
  if (has('timegenerated')) {
    const format: ExportFormat = json ? 'log-analytics-json' : 'log-analytics-csv';
    if (has('activitydisplayname', 'targetresources', 'loggedbyservice'))
      return { format, family: 'audits', because: 'it has ActivityDisplayName/TargetResources columns (AuditLogs)' };
    if (has('userprincipalname', 'userid'))
      return {
        format,
        family: 'user-sign-ins',
        because: 'it has UserPrincipalName/UserId columns (SigninLogs, AADNonInteractiveUserSignInLogs)',
      };
    if (has('serviceprincipalid', 'serviceprincipalname'))
      return {
        format,
        family: 'workload-sign-ins',
        because:
          'it has ServicePrincipalId/ServicePrincipalName and no user columns (AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs)',
      };
    return {
      error:
        'a Log Analytics export (TimeGenerated) of none of SigninLogs, AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs, AuditLogs',
    };
  }
  if (json) {
    if (has('activitydatetime', 'activitydisplayname'))
      return {
        format: 'admin-center-json',
        family: 'audits',
        because: 'its records have activityDateTime/activityDisplayName (directoryAudit)',
      };
    if (has('createddatetime')) {
      if (has('userprincipalname', 'userid'))
        return { format: 'admin-center-json', family: 'user-sign-ins', because: 'its records have userPrincipalName/userId (signIn)' };
      if (has('serviceprincipalid', 'serviceprincipalname'))
        return {
          format: 'admin-center-json',
          family: 'workload-sign-ins',
          because: 'its records have servicePrincipalId and no user (service principal signIn)',
        };
    }
    return {
      error: 'neither Graph sign-ins (createdDateTime) nor directory audits (activityDateTime) nor a Log Analytics export (TimeGenerated)',
    };
  }
  if (has('date (utc)', 'date')) {
    if (has('activity') && has('correlationid', 'category', 'service'))
      return { format: 'admin-center-csv', family: 'audits', because: 'it has Activity/Category/Service columns (audit log download)' };
    if (has('username', 'user id'))
      return { format: 'admin-center-csv', family: 'user-sign-ins', because: 'it has Username/User ID columns (user sign-in download)' };
    if (has('service principal id', 'service principal name'))
      return {
        format: 'admin-center-csv',
        family: 'workload-sign-ins',
        because: 'it has Service principal ID/name and no user columns (service principal or managed identity sign-in download)',
      };
  }
  return {
    error:
      'not an Entra admin center download (no "Date (UTC)" with sign-in or audit columns) nor a Log Analytics export (no "TimeGenerated [UTC]")',
  };
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

/** Admin center sign-in download (CSV) labels. Source: the header of a real download as
 *  checked by bitpusher2k/M365IRScripts ProcessEntraSignInLog.ps1 (v2.9, 2024-10-14);
 *  Graph names from the signIn resource (Graph beta). */
const adminCenterSignIn: Vocabulary = {
  'date (utc)': ['createdDateTime', asInstant],
  date: ['createdDateTime', asInstant],
  'request id': ['id', asText],
  'user agent': ['userAgent', asText],
  'correlation id': ['correlationId', asText],
  'user id': ['userId', asText],
  user: ['userDisplayName', asText],
  username: ['userPrincipalName', asText],
  'user type': ['userType', asEnum],
  'cross tenant access type': ['crossTenantAccessType', asEnum],
  'incoming token type': ['incomingTokenType', asEnum],
  'authentication protocol': ['authenticationProtocol', asEnum],
  'unique token identifier': ['uniqueTokenIdentifier', asText],
  'original transfer method': ['originalTransferMethod', asEnum],
  'client credential type': ['clientCredentialType', asEnum],
  application: ['appDisplayName', asText],
  'application id': ['appId', asText],
  resource: ['resourceDisplayName', asText],
  'resource id': ['resourceId', asText],
  'resource tenant id': ['resourceTenantId', asText],
  'home tenant id': ['homeTenantId', asText],
  'ip address': ['ipAddress', asText],
  'sign-in error code': ['status.errorCode', asInteger],
  'failure reason': ['status.failureReason', asText],
  'client app': ['clientAppUsed', asText],
  'device id': ['deviceDetail.deviceId', asText],
  browser: ['deviceDetail.browser', asText],
  'operating system': ['deviceDetail.operatingSystem', asText],
  compliant: ['deviceDetail.isCompliant', asBoolean],
  managed: ['deviceDetail.isManaged', asBoolean],
  'join type': ['deviceDetail.trustType', asText],
  'authentication requirement': ['authenticationRequirement', asRequirement],
  'sign-in identifier': ['signInIdentifier', asText],
  'session id': ['sessionId', asText],
  'ip address (seen by resource)': ['ipAddressFromResourceProvider', asText],
  'flagged for review': ['flaggedForReview', asBoolean],
  'token issuer type': ['tokenIssuerType', asText],
  'token issuer name': ['tokenIssuerName', asText],
  latency: ['processingTimeInMilliseconds', asInteger],
  'conditional access': ['conditionalAccessStatus', asEnum],
  'managed identity type': ['managedServiceIdentity.msiType', asEnum],
  'associated resource id': ['managedServiceIdentity.associatedResourceId', asText],
  'federated token id': ['managedServiceIdentity.federatedTokenId', asText],
  'federated token issuer': ['managedServiceIdentity.federatedTokenIssuer', asText],
  'service principal id': ['servicePrincipalId', asText],
  'service principal name': ['servicePrincipalName', asText],
  'credential key id': ['servicePrincipalCredentialKeyId', asText],
  'credential thumbprint': ['servicePrincipalCredentialThumbprint', asText],
  // Not in the download checked above; mapped if a portal version carries them.
  'risk state': ['riskState', asEnum],
  'risk level (aggregated)': ['riskLevelAggregated', asLower],
  'risk level (during sign-in)': ['riskLevelDuringSignIn', asLower],
  'risk level during sign-in': ['riskLevelDuringSignIn', asLower],
  'risk detail': ['riskDetail', asEnum],
};

/** Log Analytics SigninLogs / AADNonInteractiveUserSignInLogs / AADServicePrincipalSignInLogs /
 *  AADManagedIdentitySignInLogs columns (learn.microsoft.com/azure/azure-monitor/reference/tables/<table>). */
const logAnalyticsSignIn: Vocabulary = {
  id: ['id', asText],
  createddatetime: ['createdDateTime', asInstant],
  userprincipalname: ['userPrincipalName', asText],
  userid: ['userId', asText],
  userdisplayname: ['userDisplayName', asText],
  usertype: ['userType', asEnum],
  appid: ['appId', asText],
  appdisplayname: ['appDisplayName', asText],
  ipaddress: ['ipAddress', asText],
  status: ['status', asDynamic],
  isinteractive: ['isInteractive', asBoolean],
  authenticationrequirement: ['authenticationRequirement', asRequirement],
  risklevelduringsignin: ['riskLevelDuringSignIn', asLower],
  risklevelaggregated: ['riskLevelAggregated', asLower],
  riskstate: ['riskState', asText],
  riskdetail: ['riskDetail', asText],
  riskeventtypes_v2: ['riskEventTypes_v2', asDynamic],
  conditionalaccessstatus: ['conditionalAccessStatus', asText],
  conditionalaccesspolicies: ['appliedConditionalAccessPolicies', asDynamic],
  correlationid: ['correlationId', asText],
  clientappused: ['clientAppUsed', asText],
  useragent: ['userAgent', asText],
  resourcedisplayname: ['resourceDisplayName', asText],
  resourceidentity: ['resourceId', asText],
  resourcetenantid: ['resourceTenantId', asText],
  hometenantid: ['homeTenantId', asText],
  serviceprincipalid: ['servicePrincipalId', asText],
  serviceprincipalname: ['servicePrincipalName', asText],
  serviceprincipalcredentialkeyid: ['servicePrincipalCredentialKeyId', asText],
  serviceprincipalcredentialthumbprint: ['servicePrincipalCredentialThumbprint', asText],
  clientcredentialtype: ['clientCredentialType', asText],
  federatedcredentialid: ['federatedCredentialId', asText],
  devicedetail: ['deviceDetail', asDynamic],
  locationdetails: ['location', asDynamic],
  authenticationdetails: ['authenticationDetails', asDynamic],
  mfadetail: ['mfaDetail', asDynamic],
  tokenissuertype: ['tokenIssuerType', asText],
  tokenissuername: ['tokenIssuerName', asText],
  crosstenantaccesstype: ['crossTenantAccessType', asText],
  incomingtokentype: ['incomingTokenType', asText],
  authenticationprotocol: ['authenticationProtocol', asText],
  uniquetokenidentifier: ['uniqueTokenIdentifier', asText],
  sessionid: ['sessionId', asText],
  originalrequestid: ['originalRequestId', asText],
  signinidentifier: ['signInIdentifier', asText],
  flaggedforreview: ['flaggedForReview', asBoolean],
  processingtimeinmilliseconds: ['processingTimeInMilliseconds', asInteger],
  managedserviceidentity: ['managedServiceIdentity', asDynamic],
};

/** Log Analytics AuditLogs columns (learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs). */
const logAnalyticsAudit: Vocabulary = {
  id: ['id', asText],
  activitydatetime: ['activityDateTime', asInstant],
  activitydisplayname: ['activityDisplayName', asText],
  category: ['category', asText],
  aadoperationtype: ['operationType', asText],
  result: ['result', asLower],
  resultreason: ['resultReason', asText],
  loggedbyservice: ['loggedByService', asText],
  correlationid: ['correlationId', asText],
  initiatedby: ['initiatedBy', asDynamic],
  targetresources: ['targetResources', asDynamic],
  additionaldetails: ['additionalDetails', asDynamic],
};

/** Admin center audit download (CSV). Source: its header as quoted by a public Timesketch
 *  conversion script of "AuditLogs_2024-11-09.csv" and the input headers of bitpusher2k's
 *  ProcessEntraAuditLog.ps1; Graph names from the directoryAudit resource. */
const adminCenterAudit: Vocabulary = {
  'date (utc)': ['activityDateTime', asInstant],
  date: ['activityDateTime', asInstant],
  id: ['id', asText],
  'activity id': ['id', asText],
  correlationid: ['correlationId', asText],
  'correlation id': ['correlationId', asText],
  service: ['loggedByService', asText],
  category: ['category', asText],
  activity: ['activityDisplayName', asText],
  result: ['result', asLower],
  resultreason: ['resultReason', asText],
  'result reason': ['resultReason', asText],
  'user agent': ['userAgent', asText],
};

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
