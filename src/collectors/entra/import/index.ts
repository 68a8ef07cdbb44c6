// `accesstrail import` for Entra exports: the admin center's sign-in downloads
// (interactive, non-interactive, service principal, managed identity) and audit-log
// download, as CSV or JSON, and Log Analytics / Sentinel exports of SigninLogs,
// AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs,
// AADManagedIdentitySignInLogs and AuditLogs (CSV or JSON). Each row becomes the
// record Graph would have returned (shapes.ts) and goes through the same mapping as
// live collection (../records.ts) into the same tables, so the rules cannot tell an
// import from a collection — except where the file lacks a field, which then stays
// absent. Streams the file (flat memory), keeps provenance per record (file name, its
// SHA-256, line), quarantines bad rows with file and line, and claims coverage for the
// file's time span (docs/imports.md says when that is honest).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';

import { parse } from 'csv-parse';
import { sql } from 'kysely';

import { AppError } from '../../../errors.js';
import type { TimeRange } from '../../../store/collection.repository.js';
import { streams } from '../../../store/streams.js';
import type { EventRecord, EventTableName } from '../../../store/tables.js';
import { type CollectContext, type Mapped, stored, type StreamSummary } from '../../types.js';
import { mapAudit, mapSignIn } from '../records.js';
import { jsonRecordTexts, JsonStructureError } from './json-records.js';
import {
  detect,
  type Detection,
  type EntraImportKind,
  entraImportKinds,
  type Family,
  familyOf,
  kindFromFileName,
  kindOfRecord,
  type RowMapper,
  rowMapper,
} from './shapes.js';
import { cellInteger, cellText } from './values.js';

export { type EntraImportKind, entraImportKinds } from './shapes.js';

type Json = Record<string, unknown>;

/** Coverage streams of imports that only one of the two user sign-in logs feeds. */
export const importStreams = {
  interactiveSignIns: `${streams.entraSignIns}:interactive`,
  nonInteractiveSignIns: `${streams.entraSignIns}:non-interactive`,
  workloadSignIns: 'entra-workload-sign-ins',
} as const;

export interface EntraImportOptions {
  /** What the file holds; refused when the columns say otherwise. Default: detected. */
  kind?: EntraImportKind;
  /** Claim the file's time span as covered (default true; false for filtered exports). */
  claimCoverage?: boolean;
  /** Rows per write (default 5,000). */
  batchRows?: number;
}

/** Exports known to stop at a row limit: a file of exactly that many rows is probably cut. */
const rowLimits: Record<Detection['format'], (rows: number) => boolean> = {
  // "For large data sets (> 250,000 records), you should use the reporting API"
  // (Microsoft Learn, "How to download logs in Microsoft Entra ID").
  'admin-center-csv': (rows) => rows >= 250_000,
  'admin-center-json': (rows) => rows >= 250_000,
  // Log Analytics' portal export stops at its result limit (30,000 rows; the query API at 500,000).
  'log-analytics-csv': (rows) => rows === 30_000 || rows === 500_000,
  'log-analytics-json': (rows) => rows === 30_000 || rows === 500_000,
};

interface Row {
  cells?: Json;
  /** Why the row cannot be read at all. */
  bad?: string;
  payload?: unknown;
  line: number;
  /** 1-based data row (CSV) or record (JSON) number. */
  row: number;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** CSV rows as header → cell objects. A row whose field count differs from the
 *  header's, or that csv-parse cannot read, is passed on as bad with its line. */
async function* csvRows(file: string, header: { value?: string[] }): AsyncGenerator<Row> {
  const skipped: Row[] = [];
  const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, skip_records_with_error: true }),
  );
  parser.on('skip', (error: Error & { lines?: number; record?: unknown; raw?: string }) => {
    skipped.push({
      bad: `unreadable CSV row: ${error.message}`,
      payload: error.raw ?? error.record ?? null,
      line: error.lines ?? 0,
      row: 0,
    });
  });
  let columns: string[] | undefined;
  let row = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      while (skipped.length) yield { ...skipped.shift()!, row: ++row };
      const { record, info } = item;
      if (!columns) {
        columns = record.map((name) => name.replace(/^\ufeff/, ''));
        header.value = columns;
        continue;
      }
      row++;
      if (record.length !== columns.length) {
        yield { bad: `row has ${record.length} fields, the header has ${columns.length}`, payload: record, line: info.lines, row };
        continue;
      }
      const cells: Json = {};
      for (let i = 0; i < columns.length; i++) {
        const name = columns[i]!;
        // The admin center repeats a column ("Incoming token type"): keep the first value.
        if (cells[name] === undefined || cells[name] === '') cells[name] = record[i];
      }
      yield { cells, line: info.lines, row };
    }
  } catch (error) {
    const failure = error as Error & { lines?: number };
    throw new AppError(
      'INPUT_INVALID',
      `${path.basename(file)} is not a readable CSV${failure.lines ? ` (line ${failure.lines})` : ''}: ${failure.message}`,
    );
  }
  while (skipped.length) yield { ...skipped.shift()!, row: ++row };
}

async function* jsonRows(file: string): AsyncGenerator<Row> {
  try {
    for await (const item of jsonRecordTexts(file)) {
      let value: unknown;
      try {
        value = JSON.parse(item.text);
      } catch (error) {
        yield { bad: `not valid JSON: ${(error as Error).message}`, payload: item.text.slice(0, 10_000), line: item.line, row: item.index };
        continue;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        yield { bad: 'a record that is not a JSON object', payload: value, line: item.line, row: item.index };
        continue;
      }
      yield { cells: value as Json, line: item.line, row: item.index };
    }
  } catch (error) {
    if (error instanceof JsonStructureError)
      throw new AppError('INPUT_INVALID', `${path.basename(file)} is not a readable JSON export (line ${error.line}): ${error.message}`);
    throw error;
  }
}

const familyWords: Record<Family, string> = {
  'user-sign-ins': 'user sign-ins',
  'workload-sign-ins': 'service principal / managed identity sign-ins',
  audits: 'audit logs',
};
const streamOfFamily: Record<Family, string> = {
  'user-sign-ins': streams.entraSignIns,
  'workload-sign-ins': importStreams.workloadSignIns,
  audits: streams.entraDirectoryAudits,
};
const tableOfFamily: Record<Family, EventTableName> = {
  'user-sign-ins': 'entra_sign_in',
  'workload-sign-ins': 'entra_workload_sign_in',
  audits: 'entra_directory_audit',
};
const eventTypeOfKind: Partial<Record<EntraImportKind, string>> = {
  'entra-interactive-sign-ins': 'interactiveUser',
  'entra-non-interactive-sign-ins': 'nonInteractiveUser',
  'entra-service-principal-sign-ins': 'servicePrincipal',
  'entra-managed-identity-sign-ins': 'managedIdentity',
};

/** The rows of a service principal or managed identity sign-in (migration 0009). */
function workloadRow(record: Json, kind: EntraImportKind, now: Date): Mapped<EventRecord> {
  const checked = mapSignIn(record, 'v1.0', now); // same id and time checks as user sign-ins
  if (!checked.record) return checked;
  const status = (record['status'] ?? {}) as Json;
  const text = (value: unknown) => cellText(value) ?? null;
  return stored({
    upstream_id: checked.record.upstream_id,
    occurred_at: checked.record.occurred_at,
    raw: record,
    workload_kind: kind === 'entra-managed-identity-sign-ins' ? 'managedIdentity' : 'servicePrincipal',
    service_principal_id: text(record['servicePrincipalId']),
    service_principal_name: text(record['servicePrincipalName']),
    app_id: text(record['appId']),
    resource_id: text(record['resourceId']),
    ip_address: text(record['ipAddress']),
    error_code: typeof status['errorCode'] === 'number' ? status['errorCode'] : (cellInteger(status['errorCode']) ?? null),
    client_credential_type: text(record['clientCredentialType']),
    credential_key_id: text(record['servicePrincipalCredentialKeyId']),
    conditional_access_status: text(record['conditionalAccessStatus']),
    correlation_id: text(record['correlationId']),
  });
}

/** Resolves what the file holds from --kind, its columns, its first record and its name. */
function resolveKind(
  name: string,
  detection: Detection,
  first: { record: Json; cells: Json },
  requested: EntraImportKind | undefined,
): { kind: EntraImportKind; notes: string[] } {
  const notes: string[] = [];
  const recordKind = kindOfRecord(first.record, first.cells);
  const nameKind = kindFromFileName(name);
  if (requested && familyOf(requested) !== detection.family) {
    throw new AppError(
      'INPUT_INVALID',
      `${name}: the requested kind ${requested} contradicts the file's columns: it holds ${familyWords[detection.family]} (${detection.because})`,
    );
  }
  if (requested && requested !== 'entra-sign-ins' && recordKind && recordKind !== requested) {
    throw new AppError(
      'INPUT_INVALID',
      `${name}: the requested kind ${requested} contradicts the file: its records are ${recordKind.replace(/^entra-/, '')}`,
    );
  }
  if (requested) {
    if (nameKind && familyOf(nameKind) === detection.family && nameKind !== requested && requested !== 'entra-sign-ins')
      notes.push(`the file name suggests ${nameKind}; imported as ${requested} as asked`);
    return { kind: requested, notes };
  }
  if (recordKind && familyOf(recordKind) === detection.family) return { kind: recordKind, notes };
  if (nameKind && familyOf(nameKind) === detection.family) {
    notes.push(`${nameKind.replace(/^entra-/, '')} by the file name (the columns do not tell)`);
    return { kind: nameKind, notes };
  }
  if (detection.family === 'audits') return { kind: 'entra-audits', notes };
  if (detection.family === 'user-sign-ins') {
    notes.push('the file does not say whether its sign-ins are interactive or non-interactive: stored as unknown, and no coverage claimed');
    return { kind: 'entra-sign-ins', notes };
  }
  throw new AppError(
    'INPUT_INVALID',
    `${name}: service principal or managed identity sign-ins? The columns do not tell; name the kind: entra-service-principal-sign-ins or entra-managed-identity-sign-ins`,
  );
}

/** Imports one file; returns its summary (the stream it fed, counts, coverage, notes). */
export async function importEntraFile(
  context: CollectContext,
  sourceId: string,
  file: string,
  options: EntraImportOptions = {},
): Promise<StreamSummary> {
  const name = path.basename(file);
  const sha256 = await sha256OfFile(file);
  const header: { value?: string[] } = {};
  const isCsv = /\.csv$/i.test(file);
  const rows = isCsv ? csvRows(file, header) : jsonRows(file);
  const now = context.now();
  const batchRows = options.batchRows ?? 5_000;

  let detection: Detection | undefined;
  let mapper: RowMapper | undefined;
  let kind: EntraImportKind | undefined;
  let summary: StreamSummary | undefined;
  let batch: EventRecord[] = [];
  let earliest: Date | null = null;
  let latest: Date | null = null;
  let totalRows = 0;
  const interactivity = { interactive: 0, nonInteractive: 0, unknown: 0 };
  const pending: { stream: string; upstreamId: string | null; reason: string; payload: unknown }[] = [];

  // One write in flight while the next batch is parsed: the database and the parser
  // work at the same time, and memory holds at most two batches.
  let inFlight: Promise<void> | null = null;
  const write = async (rows: EventRecord[], into: StreamSummary, table: EventTableName) => {
    const outcome = await context.evidence.writeEvents(table, sourceId, rows, { runId: context.runId, batchRows });
    into.inserted += outcome.inserted;
    into.revised += outcome.revised;
    // Rows the store cannot hold (e.g. a NUL in a string) are set aside by the writer.
    into.quarantined += outcome.quarantined;
  };
  const flush = async (final = false) => {
    if (inFlight) await inFlight;
    inFlight = null;
    if (batch.length && summary && detection) {
      const rows = batch;
      batch = [];
      inFlight = write(rows, summary, tableOfFamily[detection.family]);
      // Keep the rejection handled until awaited (the next flush, or the final one).
      inFlight.catch(() => undefined);
      if (final) {
        await inFlight;
        inFlight = null;
      }
    }
    for (const item of pending.splice(0)) await quarantineOnce(context, sourceId, item);
  };
  const reject = (row: Row, reason: string, upstreamId: string | null, payload: unknown) => {
    if (summary) summary.quarantined++;
    pending.push({
      stream: summary?.stream ?? 'entra-import',
      upstreamId,
      reason: `${reason} (${name} line ${row.line}, sha256 ${sha256.slice(0, 12)})`,
      payload,
    });
  };

  try {
    for await (const row of rows) {
      totalRows++;
      if (!row.cells) {
        if (!summary) {
          // Nothing tells the stream yet; keep the count for the summary once known.
          pending.push({
            stream: 'entra-import',
            upstreamId: null,
            reason: `${row.bad} (${name} line ${row.line}, sha256 ${sha256.slice(0, 12)})`,
            payload: row.payload,
          });
          continue;
        }
        reject(row, row.bad ?? 'unreadable row', null, row.payload);
        continue;
      }
      if (!detection) {
        const found = detect(header.value ?? Object.keys(row.cells), !isCsv);
        if ('error' in found) {
          const asked = options.kind ? ` (asked for kind ${options.kind})` : '';
          throw new AppError('INPUT_INVALID', `${name}: not an Entra export accesstrail reads${asked}: ${found.error}`);
        }
        // Graph JSON keeps user fields (empty) on service principal sign-ins: there the
        // record's signInEventTypes decide the family.
        const told = found.format === 'admin-center-json' && found.family !== 'audits' ? kindOfRecord(row.cells, {}) : undefined;
        if (told && familyOf(told) !== found.family)
          Object.assign(found, { family: familyOf(told), because: `its records' signInEventTypes say ${told.replace(/^entra-/, '')}` });
        detection = found;
        mapper = rowMapper(found.format, found.family);
        const first = mapper(row.cells);
        const resolved = resolveKind(name, found, { record: first.record, cells: row.cells }, options.kind);
        kind = resolved.kind;
        summary = {
          stream: streamOfFamily[found.family],
          records: 0,
          inserted: 0,
          revised: 0,
          quarantined: pending.length,
          coverage: [],
          notes: [`${name} (sha256 ${sha256}): ${found.format}, ${kind}`, ...resolved.notes],
        };
        for (const item of pending) item.stream = summary.stream;
      }
      const mapped = mapper!(row.cells);
      if (mapped.invalid.length) {
        reject(row, mapped.invalid.join('; '), cellText(mapped.record['id']) ?? null, row.cells);
        continue;
      }
      const rowKind = kindOfRecord(mapped.record, row.cells);
      if (rowKind && familyOf(rowKind) !== detection.family) {
        reject(
          row,
          `a ${rowKind.replace(/^entra-/, '')} record in a file of ${familyWords[detection.family]}`,
          cellText(mapped.record['id']) ?? null,
          row.cells,
        );
        continue;
      }
      // A row that says which log it is from is trusted over a kind inferred from the
      // first row or the file name (a Log Analytics query may union two tables); only an
      // explicit --kind makes a contradicting row a rejection.
      if (rowKind && options.kind && kind !== 'entra-sign-ins' && rowKind !== kind) {
        reject(
          row,
          `a ${rowKind.replace(/^entra-/, '')} record in a file imported as ${kind}`,
          cellText(mapped.record['id']) ?? null,
          row.cells,
        );
        continue;
      }
      const effective = rowKind ?? kind!;
      const record: Json = {
        ...mapped.record,
        '@import': {
          file: name,
          sha256,
          format: detection.format,
          kind: effective,
          line: row.line,
          row: row.row,
          ...(Object.keys(mapped.extra).length ? { columns: mapped.extra } : {}),
        },
      };
      let out;
      if (detection.family === 'audits') out = mapAudit(record, now);
      else if (detection.family === 'workload-sign-ins') out = workloadRow(record, effective, now);
      else {
        const signIn = mapSignIn(record, 'v1.0', now);
        if (signIn.record) {
          const eventType = eventTypeOfKind[effective];
          const interactive =
            effective === 'entra-interactive-sign-ins' ? true : effective === 'entra-non-interactive-sign-ins' ? false : null;
          signIn.record = {
            ...signIn.record,
            is_interactive: interactive ?? signIn.record['is_interactive'] ?? null,
            event_types: (signIn.record['event_types'] as string[] | null) ?? (eventType ? [eventType] : null),
            graph_version: 'import',
          };
          if (interactive === true) interactivity.interactive++;
          else if (interactive === false) interactivity.nonInteractive++;
          else interactivity.unknown++;
        }
        out = signIn;
      }
      if (!out.record) {
        reject(row, out.problems.join('; '), out.upstreamId ?? null, record);
        continue;
      }
      const at = out.record.occurred_at as Date;
      if (!earliest || at < earliest) earliest = at;
      if (!latest || at > latest) latest = at;
      batch.push(out.record);
      summary!.records++;
      if (batch.length >= batchRows) await flush();
    }
  } catch (error) {
    // What was read before the break is kept; the error says where the file broke.
    await flush(true);
    throw error;
  }
  if (!summary && totalRows === 0 && header.value) {
    // A header and no rows: a valid, empty export (a quiet day). Nothing to store, and
    // no span to claim.
    const found = detect(header.value, false);
    if ('error' in found) throw new AppError('INPUT_INVALID', `${name}: not an Entra export accesstrail reads: ${found.error}`);
    return {
      stream: streamOfFamily[found.family],
      records: 0,
      inserted: 0,
      revised: 0,
      quarantined: 0,
      coverage: [],
      notes: [`${name} (sha256 ${sha256}): ${found.format}, no records; no coverage claimed`],
    };
  }
  if (!summary || !detection) {
    const stream = 'entra-import';
    for (const item of pending) item.stream = stream;
    await flush(true).catch(() => undefined);
    throw new AppError(
      'INPUT_INVALID',
      `${name} holds no readable records${totalRows ? ` (${totalRows} unreadable row(s), quarantined)` : ''}`,
    );
  }
  await flush(true);
  await claimCoverage(context, sourceId, summary, {
    name,
    sha256,
    detection,
    kind: kind!,
    earliest,
    latest,
    totalRows,
    interactivity,
    claim: options.claimCoverage !== false,
  });
  return summary;
}

/** The same rejection of the same file line is kept once: a re-import adds nothing. */
async function quarantineOnce(
  context: CollectContext,
  sourceId: string,
  item: { stream: string; upstreamId: string | null; reason: string; payload: unknown },
): Promise<void> {
  const existing = await sql<{
    n: number;
  }>`select count(*)::int as n from quarantined_record where source_id = ${sourceId} and stream = ${item.stream} and reason = ${item.reason}`.execute(
    context.store.db,
  );
  if ((existing.rows[0]?.n ?? 0) > 0) return;
  await context.collection.quarantine({
    sourceId,
    stream: item.stream,
    upstreamId: item.upstreamId,
    reason: item.reason,
    payload: item.payload,
    runId: context.runId,
  });
}

async function addCoverageOnce(
  context: CollectContext,
  sourceId: string,
  stream: string,
  range: TimeRange,
  detail: Record<string, unknown>,
): Promise<boolean> {
  const covered = await context.collection.coverageOf(sourceId, stream, range);
  if (covered.some((c) => c.from.getTime() <= range.from.getTime() && c.to.getTime() >= range.to.getTime())) return false;
  await context.collection.addCoverage(sourceId, stream, range, context.runId, detail);
  return true;
}

/**
 * The span from the file's first to its last record is claimed as covered, unless the
 * export is probably cut at a row limit, the caller says it was filtered, or (user
 * sign-ins) it is unknown which of the two sign-in logs it holds. A file of one log
 * (interactive or non-interactive) covers only that log: the user sign-in stream is
 * covered where both logs' imports overlap.
 */
async function claimCoverage(
  context: CollectContext,
  sourceId: string,
  summary: StreamSummary,
  file: {
    name: string;
    sha256: string;
    detection: Detection;
    kind: EntraImportKind;
    earliest: Date | null;
    latest: Date | null;
    totalRows: number;
    interactivity: { interactive: number; nonInteractive: number; unknown: number };
    claim: boolean;
  },
): Promise<void> {
  if (!file.claim) {
    summary.notes.push('no coverage claimed (as asked)');
    return;
  }
  if (!file.earliest || !file.latest) return;
  if (rowLimits[file.detection.format](file.totalRows)) {
    summary.notes.push(`no coverage claimed: ${file.totalRows} rows is the export's row limit, so the file is probably cut`);
    return;
  }
  const range = { from: file.earliest, to: file.latest };
  const detail = { origin: 'import', file: file.name, sha256: file.sha256, format: file.detection.format, records: summary.records };
  let stream = summary.stream;
  if (file.detection.family === 'user-sign-ins') {
    const { interactive, nonInteractive, unknown } = file.interactivity;
    if (unknown > 0) {
      summary.notes.push(
        'no coverage claimed: it is unknown whether the file holds interactive or non-interactive sign-ins (name the kind to claim it)',
      );
      return;
    }
    if (interactive === 0 || nonInteractive === 0)
      stream = interactive > 0 ? importStreams.interactiveSignIns : importStreams.nonInteractiveSignIns;
  }
  await addCoverageOnce(context, sourceId, stream, range, detail);
  summary.coverage.push(range);
  summary.notes.push(`coverage claimed on ${stream}: ${range.from.toISOString()} – ${range.to.toISOString()}`);
  if (stream === importStreams.interactiveSignIns || stream === importStreams.nonInteractiveSignIns) {
    const [a, b] = await Promise.all([
      context.collection.coverageOf(sourceId, importStreams.interactiveSignIns),
      context.collection.coverageOf(sourceId, importStreams.nonInteractiveSignIns),
    ]);
    for (const x of a) {
      for (const y of b) {
        const from = new Date(Math.max(x.from.getTime(), y.from.getTime()));
        const to = new Date(Math.min(x.to.getTime(), y.to.getTime()));
        if (
          from < to &&
          (await addCoverageOnce(
            context,
            sourceId,
            streams.entraSignIns,
            { from, to },
            { ...detail, origin: 'import: interactive and non-interactive files overlap' },
          ))
        ) {
          summary.notes.push(
            `interactive and non-interactive imports both cover ${from.toISOString()} – ${to.toISOString()}: coverage claimed on ${streams.entraSignIns}`,
          );
        }
      }
    }
    if (!summary.notes.some((note) => note.includes(`claimed on ${streams.entraSignIns}`)))
      summary.notes.push(
        `${streams.entraSignIns} is covered only where interactive and non-interactive imports overlap; import the other log for the same span`,
      );
  }
}

/** Parses the kind given on the command line. */
export function parseEntraKind(value: string): EntraImportKind | undefined {
  return (entraImportKinds as readonly string[]).includes(value) ? (value as EntraImportKind) : undefined;
}
