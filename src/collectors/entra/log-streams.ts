// Sign-ins and directory audits: read in time windows, each window's pages followed
// through @odata.nextLink to the end (empty pages too), then — and only then — the
// window is recorded as covered and the checkpoint moves. Skip tokens are never kept:
// they may expire, so a failed page or a refused token redoes the window (spec §4.2).
import { AppError } from '../../errors.js';
import type { TimeRange } from '../../store/collection.repository.js';
import type { EventRecord } from '../../store/tables.js';
import { capabilities, streams } from '../streams.js';
import type { CollectContext, StreamSummary } from '../types.js';
import { riskHidden, signInRow, auditRow, type Mapped } from './records.js';
import { RequestFailure, type GraphPage, type Requester } from './requester.js';

export interface WindowPolicy {
  /** Width of a window (Graph: shrink it when a window is too large or throttled). */
  windowMs: number;
  minWindowMs: number;
  /** Re-read on every run for late and merged events (spec §6.4). */
  overlapMs: number;
  /** A window with more pages than this makes the next windows narrower. */
  maxPagesPerWindow: number;
  /** Consecutive failed attempts at one window before the stream gives up. */
  maxWindowAttempts: number;
}

export const defaultWindowPolicy: WindowPolicy = {
  windowMs: 86_400_000,
  minWindowMs: 60_000,
  overlapMs: 3 * 3_600_000,
  maxPagesPerWindow: 50,
  maxWindowAttempts: 6,
};

interface LogCheckpoint {
  coveredTo: string;
  windowMs: number;
  graphVersion?: 'beta' | 'v1.0';
}

export interface LogStreamDeps {
  context: CollectContext;
  sourceId: string;
  requester: Requester;
  graphOrigin: string;
  policy: WindowPolicy;
  retentionDays: number;
  since?: Date;
  until?: Date;
}

/** Graph's filters take unquoted second-precision UTC instants (spec §4.1). */
export const odataInstant = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');
const floorToSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

interface StreamSpec {
  stream: string;
  table: 'entra_sign_in' | 'entra_directory_audit';
  /** First-page URLs of one window; all must be read to the end. */
  urls(window: TimeRange): string[];
  map(record: Record<string, unknown>): Mapped<EventRecord>;
  /** Called with the failure of the first request of a window; true = redo the window. */
  adapt?(error: unknown): Promise<boolean>;
  detail(): Record<string, unknown>;
  /** Windows completed in this run (the runner counts). */
  windowsDone: number;
}

/** Thrown when a stream gave up; the others still run, and the collector reports it. */
export class StreamIncomplete extends Error {}

async function runWindows(deps: LogStreamDeps, spec: StreamSpec, summary: StreamSummary): Promise<void> {
  const { context, sourceId, policy } = deps;
  const now = context.now();
  const checkpoint = await context.collection.getCheckpoint<LogCheckpoint>(sourceId, spec.stream);
  const retentionFloor = floorToSecond(now.getTime() - deps.retentionDays * 86_400_000);
  let start: number;
  if (checkpoint) start = Date.parse(checkpoint.coveredTo) - policy.overlapMs;
  else start = deps.since ? deps.since.getTime() : retentionFloor;
  if (start < retentionFloor) {
    // Entra no longer holds anything older: claiming it would pass off missing history as
    // "nothing happened".
    if (!checkpoint && deps.since) summary.notes.push(`--since is older than the ${deps.retentionDays}-day log retention; collected from ${new Date(retentionFloor).toISOString()}`);
    start = retentionFloor;
  }
  start = floorToSecond(start);
  const end = floorToSecond(Math.min((deps.until ?? now).getTime(), now.getTime()));
  let windowMs = Math.max(policy.minWindowMs, Math.min(checkpoint?.windowMs ?? policy.windowMs, policy.windowMs));
  let coveredTo = checkpoint ? Date.parse(checkpoint.coveredTo) : 0;
  let cursor = start;
  let failures = 0;

  while (cursor < end) {
    if (context.signal?.aborted) throw context.signal.reason instanceof Error ? context.signal.reason : new Error('collection aborted');
    const window = { from: new Date(cursor), to: new Date(Math.min(cursor + windowMs, end)) };
    let pages = 0;
    try {
      for (const first of spec.urls(window)) {
        let page;
        try {
          page = await deps.requester.get(first, { reporting: true });
        } catch (error) {
          if (pages === 0 && spec.adapt && (await spec.adapt(error))) throw new RedoWindow();
          throw error;
        }
        while (page) {
          pages++;
          // The next page is fetched while this one is stored: network and database overlap.
          const next: Promise<GraphPage> | undefined = page.nextLink ? deps.requester.get(page.nextLink, { reporting: true }) : undefined;
          next?.catch(() => undefined);
          await store(deps, spec, page.value, summary);
          context.progress.update(spec.stream, { records: summary.records, window, throttleWaitMs: deps.requester.stats.throttleWaitMs });
          page = next ? await next : undefined;
        }
      }
    } catch (error) {
      if (error instanceof RedoWindow) continue;
      if (!(error instanceof RequestFailure)) throw error;
      failures++;
      if (failures >= policy.maxWindowAttempts) {
        summary.notes.push(`gave up on ${window.from.toISOString()} → ${window.to.toISOString()} after ${failures} attempts: ${error.message}`);
        throw new StreamIncomplete(`${spec.stream}: ${error.message}`);
      }
      // Narrower windows mean fewer pages per attempt, so less to redo (spec §4.5).
      windowMs = Math.max(policy.minWindowMs, Math.floor(windowMs / 2));
      context.logger.warn({ stream: spec.stream, from: window.from, reason: error.message, windowMs }, 'redoing window');
      continue;
    }
    failures = 0;
    spec.windowsDone++;
    await context.collection.addCoverage(sourceId, spec.stream, window, context.runId, { pages, ...spec.detail() });
    coveredTo = Math.max(coveredTo, window.to.getTime());
    await context.collection.saveCheckpoint(sourceId, spec.stream, { coveredTo: new Date(coveredTo).toISOString(), windowMs, ...spec.detail() } satisfies LogCheckpoint, context.runId);
    if (pages > policy.maxPagesPerWindow) windowMs = Math.max(policy.minWindowMs, Math.floor(windowMs / 2));
    else if (pages <= spec.urls(window).length && windowMs < policy.windowMs) windowMs = Math.min(policy.windowMs, windowMs * 2);
    cursor = window.to.getTime();
  }
}

class RedoWindow extends Error {}

async function store(deps: LogStreamDeps, spec: StreamSpec, records: Record<string, unknown>[], summary: StreamSummary): Promise<void> {
  const rows: EventRecord[] = [];
  for (const record of records) {
    const mapped = spec.map(record);
    if (mapped.ok) rows.push(mapped.row);
    else {
      summary.quarantined++;
      await deps.context.collection.quarantine({ sourceId: deps.sourceId, stream: spec.stream, upstreamId: mapped.upstreamId, reason: mapped.reason, payload: record, runId: deps.context.runId });
    }
  }
  if (rows.length === 0) return;
  const outcome = await deps.context.evidence.writeEvents(spec.table, deps.sourceId, rows, { runId: deps.context.runId });
  summary.records += rows.length;
  summary.inserted += outcome.inserted;
  summary.revised += outcome.revised;
  summary.quarantined += outcome.quarantined;
}

function emptySummary(stream: string): StreamSummary {
  return { stream, records: 0, inserted: 0, revised: 0, quarantined: 0, coverage: [], notes: [] };
}

async function finishSummary(deps: LogStreamDeps, summary: StreamSummary): Promise<StreamSummary> {
  summary.coverage = await deps.context.collection.coverageOf(deps.sourceId, summary.stream);
  deps.context.progress.done(summary.stream, summary);
  return summary;
}

export async function collectSignIns(deps: LogStreamDeps, appIds: readonly string[]): Promise<StreamSummary> {
  const summary = emptySummary(streams.entraSignIns);
  const { context, sourceId } = deps;
  let version: 'beta' | 'v1.0' = 'beta';
  let betaDecided = false;
  let hidden = 0;
  let withRisk = 0;
  let fallbackReason: string | null = null;
  const spec: StreamSpec = {
    stream: streams.entraSignIns,
    table: 'entra_sign_in',
    urls(window) {
      return appIds.map((appId) => {
        const clauses = [`createdDateTime ge ${odataInstant(window.from)}`, `createdDateTime le ${odataInstant(window.to)}`, `appId eq '${appId}'`];
        // Non-interactive sign-ins exist only in beta, behind this lambda filter (spec §1.1).
        if (version === 'beta') clauses.push(`signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')`);
        return `${deps.graphOrigin}/${version}/auditLogs/signIns?$filter=${encodeURIComponent(clauses.join(' and '))}&$top=1000`;
      });
    },
    map(record) {
      const mapped = signInRow(record, version, context.now());
      if (mapped.ok) {
        if (riskHidden(record)) hidden++;
        else if (record['riskLevelDuringSignIn'] !== undefined) withRisk++;
      }
      return mapped;
    },
    async adapt(error) {
      if (version !== 'beta' || betaDecided) return false;
      const refused = (error instanceof RequestFailure && (error.kind === 'bad-request' || error.kind === 'not-found')) || (error instanceof AppError && error.code === 'UPSTREAM_PERMISSION');
      if (!refused) return false;
      // Beta refused: v1.0 still has the interactive sign-ins, without the event types,
      // authentication requirement and details (rules that need them become not evaluable).
      version = 'v1.0';
      betaDecided = true;
      fallbackReason = `beta sign-ins refused (${(error as Error).message}); collected from v1.0: interactive sign-ins only, without authenticationRequirement and authenticationDetails`;
      return true;
    },
    detail: () => ({ graphVersion: version }),
    windowsDone: 0,
  };
  try {
    await runWindows(deps, spec, summary);
  } finally {
    // Recorded only once a window arrived through that version: a refusal of both
    // versions is a permission problem, not a capability.
    if (spec.windowsDone > 0) {
      if (fallbackReason) summary.notes.push(fallbackReason);
      await context.collection.setCapability(sourceId, capabilities.entraSignInsBeta, version === 'beta', fallbackReason, context.runId);
    }
    if (hidden > 0) {
      await context.collection.setCapability(sourceId, capabilities.entraRiskFields, false, `risk fields arrived as "hidden" in ${hidden} sign-ins (needs Entra ID P2)`, context.runId);
    } else if (withRisk > 0) {
      await context.collection.setCapability(sourceId, capabilities.entraRiskFields, true, null, context.runId);
    }
  }
  return finishSummary(deps, summary);
}

export async function collectDirectoryAudits(deps: LogStreamDeps): Promise<StreamSummary> {
  const summary = emptySummary(streams.entraDirectoryAudits);
  const spec: StreamSpec = {
    stream: streams.entraDirectoryAudits,
    table: 'entra_directory_audit',
    urls(window) {
      // All activities are kept; the time field of audits is activityDateTime (spec §2.1).
      const filter = `activityDateTime ge ${odataInstant(window.from)} and activityDateTime le ${odataInstant(window.to)}`;
      return [`${deps.graphOrigin}/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(filter)}`];
    },
    map: (record) => auditRow(record, deps.context.now()),
    detail: () => ({}),
    windowsDone: 0,
  };
  await runWindows(deps, spec, summary);
  return finishSummary(deps, summary);
}
