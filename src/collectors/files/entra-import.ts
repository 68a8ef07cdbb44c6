// Entra portal downloads (sign-ins and audit logs, JSON or CSV) into the same evidence
// tables as live collection, upserted by the same ids, so an import and a later
// collection of the same events do not duplicate. An import claims no coverage: a
// download may be filtered or truncated, and nothing tells us it is complete.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { AppError } from '../../errors.js';
import type { EventRecord } from '../../store/tables.js';
import { auditRow, signInRow, type Mapped } from '../entra/records.js';
import { streams } from '../streams.js';
import type { CollectContext, StreamSummary } from '../types.js';

export type EntraImportKind = 'entra-sign-ins' | 'entra-audits';

type Json = Record<string, unknown>;

/** Portal CSV headers (they vary between portal versions) → Graph field paths. */
const signInColumns: Record<string, string> = {
  'request id': 'id',
  id: 'id',
  'date (utc)': 'createdDateTime',
  date: 'createdDateTime',
  'user id': 'userId',
  username: 'userPrincipalName',
  user: 'userDisplayName',
  'user type': 'userType',
  application: 'appDisplayName',
  'application id': 'appId',
  resource: 'resourceDisplayName',
  'resource id': 'resourceId',
  'ip address': 'ipAddress',
  'correlation id': 'correlationId',
  status: 'statusText',
  'sign-in error code': 'status.errorCode',
  'failure reason': 'status.failureReason',
  'client app': 'clientAppUsed',
  'conditional access': 'conditionalAccessStatus',
  'authentication requirement': 'authenticationRequirement',
  'user agent': 'userAgent',
};

const auditColumns: Record<string, string> = {
  id: 'id',
  'activity id': 'id',
  'date (utc)': 'activityDateTime',
  date: 'activityDateTime',
  correlationid: 'correlationId',
  'correlation id': 'correlationId',
  service: 'loggedByService',
  category: 'category',
  activity: 'activityDisplayName',
  result: 'result',
  resultreason: 'resultReason',
  'result reason': 'resultReason',
  actorobjectid: 'initiatedBy.user.id',
  actoruserprincipalname: 'initiatedBy.user.userPrincipalName',
  actordisplayname: 'initiatedBy.user.displayName',
};

function setPath(target: Json, path: string, value: unknown): void {
  const keys = path.split('.');
  let current = target;
  for (const key of keys.slice(0, -1)) {
    current[key] ??= {};
    current = current[key] as Json;
  }
  current[keys[keys.length - 1]!] = value;
}

/** A portal CSV time ("2026-07-01T10:00:00Z" or "7/1/2026, 10:00:00 AM") as ISO UTC. */
function csvInstant(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) return /[zZ]|[+-]\d{2}:\d{2}$/.test(value) ? value : `${value}Z`;
  const parsed = Date.parse(`${value} UTC`);
  return Number.isNaN(parsed) ? value : new Date(parsed).toISOString();
}

function csvRecord(row: Record<string, string>, kind: EntraImportKind): Json {
  const columns = kind === 'entra-sign-ins' ? signInColumns : auditColumns;
  const record: Json = {};
  const targets: Json[] = [];
  for (const [header, value] of Object.entries(row)) {
    if (value === '') continue;
    const name = header.trim().toLowerCase();
    const target = /^target(\d+)(objectid|type|displayname|userprincipalname)$/.exec(name.replace(/\s+/g, ''));
    if (kind === 'entra-audits' && target) {
      const index = Number(target[1]) - 1;
      const key = ({ objectid: 'id', type: 'type', displayname: 'displayName', userprincipalname: 'userPrincipalName' } as const)[target[2] as 'objectid'];
      targets[index] = { ...targets[index], [key]: value };
      continue;
    }
    const path = columns[name];
    if (!path) continue;
    if (path === 'status.errorCode') setPath(record, path, Number(value));
    else if (path === 'createdDateTime' || path === 'activityDateTime') setPath(record, path, csvInstant(value));
    else setPath(record, path, value);
  }
  if (targets.length) record['targetResources'] = targets.filter(Boolean);
  if (kind === 'entra-sign-ins' && typeof record['userPrincipalName'] === 'string') record['userPrincipalName'] = record['userPrincipalName'].toLowerCase();
  record['@accesstrail.importedFrom'] = 'csv';
  return record;
}

/** Guesses the kind from the first record or header. */
export function detectKind(sample: Json | string[]): EntraImportKind | undefined {
  if (Array.isArray(sample)) {
    const headers = sample.map((h) => h.trim().toLowerCase());
    if (headers.includes('activity')) return 'entra-audits';
    if (headers.includes('request id') || headers.includes('sign-in error code') || headers.includes('application id')) return 'entra-sign-ins';
    return undefined;
  }
  if ('activityDateTime' in sample || 'activityDisplayName' in sample) return 'entra-audits';
  if ('createdDateTime' in sample) return 'entra-sign-ins';
  return undefined;
}

async function* jsonRecords(file: string): AsyncGenerator<Json> {
  // Portal JSON downloads are one array (or a Graph page with `value`); read whole.
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    // V8 quotes the start of the input in its message: one line, whatever the file holds.
    throw new AppError('INPUT_INVALID', `${file} is not valid JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as Json | null)?.['value'];
  if (!Array.isArray(list)) throw new AppError('INPUT_INVALID', `${file} holds neither a JSON array of records nor a Graph page with "value"`);
  for (const item of list) yield (item ?? {}) as Json;
}

async function* csvRows(file: string): AsyncGenerator<Record<string, string>> {
  const parser = createReadStream(file).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: true }));
  try {
    for await (const row of parser) yield row as Record<string, string>;
  } catch (error) {
    throw new AppError('INPUT_INVALID', `${file} is not a readable CSV: ${(error as Error).message}`);
  }
}

export async function importEntraFile(context: CollectContext, sourceId: string, file: string, requestedKind?: EntraImportKind): Promise<StreamSummary> {
  const isCsv = /\.csv$/i.test(file);
  const records: AsyncGenerator<Json> = isCsv
    ? (async function* () {
        for await (const row of csvRows(file)) yield { __csv: row } as Json;
      })()
    : jsonRecords(file);
  let kind = requestedKind;
  const now = context.now();
  let summary: StreamSummary | undefined;
  let batch: EventRecord[] = [];

  const flush = async () => {
    if (!batch.length || !summary || !kind) return;
    const outcome = await context.evidence.writeEvents(kind === 'entra-sign-ins' ? 'entra_sign_in' : 'entra_directory_audit', sourceId, batch, { runId: context.runId });
    summary.inserted += outcome.inserted;
    summary.revised += outcome.revised;
    summary.quarantined += outcome.quarantined;
    batch = [];
  };

  for await (const item of records) {
    const csv = item['__csv'] as Record<string, string> | undefined;
    if (!kind) {
      kind = detectKind(csv ? Object.keys(csv) : item);
      if (!kind) throw new AppError('INPUT_INVALID', `${file}: cannot tell whether it holds sign-ins or audit logs; pass --kind entra-sign-ins or --kind entra-audits`);
    }
    summary ??= { stream: kind === 'entra-sign-ins' ? streams.entraSignIns : streams.entraDirectoryAudits, records: 0, inserted: 0, revised: 0, quarantined: 0, coverage: [], notes: [`imported from ${file}; an import claims no coverage`] };
    const record = csv ? csvRecord(csv, kind) : item;
    const mapped: Mapped<EventRecord> = kind === 'entra-sign-ins' ? signInRow(record, 'v1.0', now) : auditRow(record, now);
    if (!mapped.ok) {
      summary.quarantined++;
      await context.collection.quarantine({ sourceId, stream: summary.stream, upstreamId: mapped.upstreamId, reason: `${mapped.reason} (${file})`, payload: record, runId: context.runId });
      continue;
    }
    // A download does not say which Graph version it mirrors; event types mark beta data.
    const row = kind === 'entra-sign-ins' ? { ...mapped.row, graph_version: Array.isArray(record['signInEventTypes']) ? 'beta' : 'v1.0' } : mapped.row;
    batch.push(row);
    summary.records++;
    if (batch.length >= 1000) await flush();
  }
  await flush();
  if (!summary) throw new AppError('INPUT_INVALID', `${file} holds no records`);
  return summary;
}
