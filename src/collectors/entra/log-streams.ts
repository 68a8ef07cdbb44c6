// Sign-ins and directory audits: read in time windows, each window's pages followed
// through @odata.nextLink to the end (empty pages too), then — and only then — the
// window is recorded as covered and the checkpoint moves. Skip tokens are never kept:
// they may expire, so a failed page or a refused token redoes the window (spec §4.2).
import { AppError } from '../../errors.js';
import type { TimeRange } from '../../store/collection.repository.js';
import { capabilities, streams } from '../../store/streams.js';
import type { EventRecord } from '../../store/tables.js';
import type { CollectContext, StreamSummary } from '../types.js';
import type { Mapped } from '../types.js';
import { mapAudit, mapSignIn, riskHidden } from './records.js';
import { type GraphPage, type Requester, RequestFailure } from './requester.js';

export interface WindowPolicy {
  /** Width of a stream's first window, before anything is known about its density. */
  windowMs: number;
  minWindowMs: number;
  /** Widest window. Density and Graph's timeouts set the width, not this bound: it only
   *  keeps one window from spanning more than a year. */
  maxWindowMs: number;
  /** Re-read on every run for late and merged events (spec §6.4). */
  overlapMs: number;
  /** Full pages a window should take: enough that nearly every request is a full page,
   *  few enough that a window redone after a failure costs little. */
  targetPagesPerWindow: number;
  /** Largest factor by which one window's width grows over the last one's: an empty or
   *  nearly empty window says little about what the next stretch of time holds. */
  maxGrowth: number;
  /** Consecutive failed attempts at one window before the stream gives up. */
  maxWindowAttempts: number;
}

export const defaultWindowPolicy: WindowPolicy = {
  windowMs: 86_400_000,
  minWindowMs: 60_000,
  maxWindowMs: 366 * 86_400_000,
  overlapMs: 3 * 3_600_000,
  targetPagesPerWindow: 10,
  maxGrowth: 128,
  maxWindowAttempts: 6,
};

/** Records per page of sign-ins: "the maximum and default page size is 1,000"
 *  (learn.microsoft.com/graph/api/signin-list). directoryAudits documents no maximum, so
 *  it is asked without $top; full pages seen in a run tell its real page size. */
export const LOG_PAGE_SIZE = 1000;

/** What one window showed: how wide it was, how many records its pages held, and the
 *  largest page seen with a nextLink after it (the server's real page size). */
export interface WindowOutcome {
  widthMs: number;
  records: number;
  pageCapacity: number;
}

/** Width of the next window. Requests are at least one per window and query, plus one per
 *  page: the cheapest windows hold many full pages. The density just measured (records
 *  per ms) predicts how wide a window of `targetPagesPerWindow` full pages is; a window
 *  that held no more than that is never a reason to narrow (it may have been cut short
 *  by the end of the range), one that held more narrows the next at once. */
export function nextWindowMs(policy: WindowPolicy, currentMs: number, outcome: WindowOutcome, ceilingMs = policy.maxWindowMs): number {
  const target = policy.targetPagesPerWindow * Math.max(1, outcome.pageCapacity);
  const widest = outcome.widthMs * policy.maxGrowth;
  let next = outcome.records === 0 ? widest : Math.min(widest, (outcome.widthMs * target) / outcome.records);
  if (outcome.records <= target) next = Math.max(next, currentMs);
  return Math.round(Math.max(policy.minWindowMs, Math.min(next, policy.maxWindowMs, ceilingMs)));
}

interface LogCheckpoint {
  coveredTo: string;
  /** Width the next window starts with (what the density of the last ones suggested). */
  windowMs: number;
  /** Half the width of a window Graph timed out on, if it ever did: later windows stay
   *  below it, while it relaxes window by window. */
  timeoutCeilingMs?: number;
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

/** Growth of the timeout ceiling per window answered without a timeout: a 504 may have
 *  been the service's bad minute rather than the width, so the ceiling doubles about
 *  every 8 windows instead of holding for good. */
const CEILING_RELAX = 1.1;

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
    if (!checkpoint && deps.since)
      summary.notes.push(
        `the requested start is older than the ${deps.retentionDays}-day log retention; collected from ${new Date(retentionFloor).toISOString()}`,
      );
    start = retentionFloor;
  }
  start = floorToSecond(start);
  const end = floorToSecond(Math.min((deps.until ?? now).getTime(), now.getTime()));
  // After a timeout, windows stay below half the width that timed out (this run and later
  // ones), a ceiling that relaxes with every window answered in time.
  let ceilingMs = Math.max(policy.minWindowMs, Math.min(policy.maxWindowMs, checkpoint?.timeoutCeilingMs ?? policy.maxWindowMs));
  const clampWidth = (ms: number) => Math.round(Math.max(policy.minWindowMs, Math.min(ms, ceilingMs)));
  let windowMs = clampWidth(checkpoint?.windowMs ?? policy.windowMs);
  let coveredTo = checkpoint ? Date.parse(checkpoint.coveredTo) : 0;
  let cursor = start;
  let failures = 0;
  // Largest page that had a nextLink after it: the server's page size for this query.
  let pageCapacity = 0;

  while (cursor < end) {
    if (context.signal?.aborted) throw context.signal.reason instanceof Error ? context.signal.reason : new Error('collection aborted');
    const window = { from: new Date(cursor), to: new Date(Math.min(cursor + windowMs, end)) };
    let pages = 0;
    let records = 0;
    try {
      for (const first of spec.urls(window)) {
        let page;
        try {
          page = await deps.requester.get(first, { reporting: true, windowed: true });
        } catch (error) {
          if (pages === 0 && spec.adapt && (await spec.adapt(error))) throw new RedoWindow();
          throw error;
        }
        while (page) {
          pages++;
          records += page.value.length;
          if (page.nextLink) pageCapacity = Math.max(pageCapacity, page.value.length);
          // The next page is fetched while this one is stored: network and database overlap.
          const next: Promise<GraphPage> | undefined = page.nextLink
            ? deps.requester.get(page.nextLink, { reporting: true, windowed: true })
            : undefined;
          next?.catch(() => undefined);
          await store(deps, spec, page.value, summary);
          context.progress.update(spec.stream, { records: summary.records, window, throttleWaitMs: deps.requester.stats.throttleWaitMs });
          page = next ? await next : undefined;
        }
      }
    } catch (error) {
      if (error instanceof RedoWindow) continue;
      if (!(error instanceof RequestFailure)) throw error;
      const width = window.to.getTime() - window.from.getTime();
      if (error.kind === 'timeout' && width > policy.minWindowMs) {
        // Graph gives up on filters that make it scan too much (msgraph-sdk-powershell#2941,
        // #3146): the same query would time out again, a narrower one may not. Not counted
        // as a failed attempt while the window can still narrow.
        ceilingMs = clampWidth(width / 2);
        windowMs = clampWidth(width / 4);
        context.logger.warn(
          { stream: spec.stream, from: window.from, reason: error.message, windowMs },
          'Graph timed out; narrowing the window',
        );
        continue;
      }
      failures++;
      if (failures >= policy.maxWindowAttempts) {
        summary.notes.push(
          `gave up on ${window.from.toISOString()} → ${window.to.toISOString()} after ${failures} attempts: ${error.message}`,
        );
        throw new StreamIncomplete(`${spec.stream}: ${error.message}`);
      }
      // Narrower windows mean fewer pages per attempt, so less to redo (spec §4.5).
      windowMs = clampWidth(Math.min(windowMs, width) / 2);
      context.logger.warn({ stream: spec.stream, from: window.from, reason: error.message, windowMs }, 'redoing window');
      continue;
    }
    // Every page of every query of the window arrived: only now is it covered.
    failures = 0;
    spec.windowsDone++;
    const widthMs = window.to.getTime() - window.from.getTime();
    if (ceilingMs < policy.maxWindowMs) ceilingMs = Math.min(policy.maxWindowMs, Math.round(ceilingMs * CEILING_RELAX));
    windowMs = nextWindowMs(policy, windowMs, { widthMs, records, pageCapacity: pageCapacity || LOG_PAGE_SIZE }, ceilingMs);
    await context.collection.addCoverage(sourceId, spec.stream, window, context.runId, { pages, records, ...spec.detail() });
    coveredTo = Math.max(coveredTo, window.to.getTime());
    const position: LogCheckpoint = {
      coveredTo: new Date(coveredTo).toISOString(),
      windowMs,
      ...(ceilingMs < policy.maxWindowMs ? { timeoutCeilingMs: ceilingMs } : {}),
      ...spec.detail(),
    };
    await context.collection.saveCheckpoint(sourceId, spec.stream, position, context.runId);
    cursor = window.to.getTime();
  }
}

class RedoWindow extends Error {}

async function store(deps: LogStreamDeps, spec: StreamSpec, records: Record<string, unknown>[], summary: StreamSummary): Promise<void> {
  const rows: EventRecord[] = [];
  for (const record of records) {
    const mapped = spec.map(record);
    if (mapped.record) rows.push(mapped.record);
    if (mapped.problems.length > 0) {
      summary.quarantined++;
      await deps.context.collection.quarantine({
        sourceId: deps.sourceId,
        stream: spec.stream,
        upstreamId: mapped.upstreamId ?? null,
        reason: mapped.problems.join('; '),
        payload: record,
        runId: deps.context.runId,
      });
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
        const clauses = [
          `createdDateTime ge ${odataInstant(window.from)}`,
          `createdDateTime le ${odataInstant(window.to)}`,
          `appId eq '${appId}'`,
        ];
        // Non-interactive sign-ins exist only in beta, behind this lambda filter (spec §1.1).
        if (version === 'beta') clauses.push(`signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')`);
        return `${deps.graphOrigin}/${version}/auditLogs/signIns?$filter=${encodeURIComponent(clauses.join(' and '))}&$top=1000`;
      });
    },
    map(record) {
      const mapped = mapSignIn(record, version, context.now());
      if (mapped.record) {
        if (riskHidden(record)) hidden++;
        else if (record['riskLevelDuringSignIn'] !== undefined) withRisk++;
      }
      return mapped;
    },
    async adapt(error) {
      if (version !== 'beta' || betaDecided) return false;
      const refused =
        (error instanceof RequestFailure && (error.kind === 'bad-request' || error.kind === 'not-found')) ||
        (error instanceof AppError && error.code === 'UPSTREAM_PERMISSION');
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
      await context.collection.setCapability(
        sourceId,
        capabilities.entraRiskFields,
        false,
        `risk fields arrived as "hidden" in ${hidden} sign-ins (needs Entra ID P2)`,
        context.runId,
      );
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
    map: (record) => mapAudit(record, deps.context.now()),
    detail: () => ({}),
    windowsDone: 0,
  };
  await runWindows(deps, spec, summary);
  return finishSummary(deps, summary);
}
