// One correlation run: identities (links, terminated intervals), login ↔ sign-in
// matches, then every rule, for a period and an as-of instant. Everything it produces is
// stored with the run (correlation_run, identity_link, person_terminated_interval,
// login_match, rule_evaluation, finding), so a report shows exactly what was evaluated.
import { type Kysely, type RawBuilder, sql } from 'kysely';

import type { Logger } from '../logger.js';
import { mergeRanges, type TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';
import { streams } from '../store/streams.js';
import { type StateTableName, stateTables } from '../store/tables.js';
import { insertFindings } from './finding-json.js';
import { resolveIdentities } from './identity/identity.repository.js';
import { loadInventory } from './inventory.js';
import { matchLogins, type MatchOutcome } from './matching.js';
import { numberParameter, type RuleParameters } from './parameters.js';
import { correlationInputsSha256, findReusableRun, loadRuleEvaluations, type StoredRunSummary } from './reuse.js';
import { rules as allRules } from './rules/index.js';
import { observedLater, stateAt, stateInstants } from './state.js';
import type { Inventory, Rule, RuleContext, RuleFinding, RuleOutcome } from './types.js';

export interface CorrelationRequest {
  period: TimeRange;
  asOf: Date;
  parameters: RuleParameters;
  metabaseAppIds: string[];
  adminGroupIds: string[];
  /** 'current' (default): the findings the API serves as current; 'report': a report's own run. */
  purpose?: 'current' | 'report';
  rules?: readonly Rule[];
  /** Return a succeeded run of identical inputs, over a store in which nothing it read has
   *  changed since it started, instead of evaluating again (reuse.ts). */
  reuse?: boolean;
}

export interface RuleResult extends RuleOutcome {
  id: string;
  severity: Rule['severity'];
  parameters: Record<string, unknown>;
  seconds: number;
}

export interface CorrelationResult {
  runId: number;
  period: TimeRange;
  asOf: Date;
  inventory: Inventory;
  links: Record<string, number>;
  matches: Record<MatchOutcome, number>;
  people: number;
  accounts: number;
  terminatedIntervals: number;
  rules: RuleResult[];
  findings: RuleFinding[];
  /** When directory state was observed, when that is later than as-of. */
  stateObservedAt: Date | null;
  /** The state-at-as-of SQL this run used (state instants read once per table). */
  stateAt(table: StateTableName): Promise<RawBuilder<unknown>>;
  timings: Record<string, number>;
  /** The run was evaluated earlier for identical inputs and read back (request.reuse). */
  reused: boolean;
}

/** Keep derived rows (links, intervals, matches) of the latest runs only; findings stay. */
export const KEEP_DERIVED_RUNS = 5;

export async function correlate(db: Kysely<Database>, request: CorrelationRequest, logger?: Logger): Promise<CorrelationResult> {
  const asOf = request.asOf;
  const period = { from: request.period.from, to: new Date(Math.min(request.period.to.getTime(), asOf.getTime())) };
  const rules = request.rules ?? allRules;
  const fingerprintStarted = performance.now();
  // Taken before anything is read: evidence written during the run changes it.
  const inputsSha256 = await correlationInputsSha256(db, {
    period: request.period,
    asOf,
    parameters: request.parameters,
    metabaseAppIds: request.metabaseAppIds,
    adminGroupIds: request.adminGroupIds,
    ruleIds: rules.map((rule) => rule.id),
  });
  if (request.reuse) {
    const purpose = request.purpose ?? 'current';
    const found = await findReusableRun(db, { inputsSha256, purpose, keepRuns: KEEP_DERIVED_RUNS });
    const loaded = found && (await loadRun(db, request, rules, period, found));
    if (loaded) {
      logger?.info({ runId: loaded.runId, inputsSha256 }, 'correlation run of identical inputs reused');
      return loaded;
    }
  }
  const run = await db
    .insertInto('correlation_run')
    .values({
      period_from: request.period.from,
      period_to: request.period.to,
      as_of: asOf,
      parameters: JSON.stringify(request.parameters),
      status: 'running',
      summary: JSON.stringify({ inputsSha256 }),
      purpose: request.purpose ?? 'current',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const runId = Number(run.id);
  const timings: Record<string, number> = { 'inputs fingerprint': (performance.now() - fingerprintStarted) / 1000 };
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = (performance.now() - started) / 1000;
    }
  };

  try {
    const inventory = await timed('inventory', () =>
      loadInventory(db, { metabaseAppIds: request.metabaseAppIds, adminGroupIds: request.adminGroupIds }),
    );
    const identities = await timed('linking', () => resolveIdentities(db, runId, asOf));
    const bypass = request.parameters['sso-bypass'] ?? {};
    const signInCoverage = mergeRanges(inventory.entraSourceIds.flatMap((source) => inventory.coverage(source, streams.entraSignIns)));
    const matching = await timed('matching', () =>
      matchLogins(
        db,
        {
          runId,
          period,
          beforeMinutes: numberParameter(bypass, 'beforeMinutes', 10),
          afterMinutes: numberParameter(bypass, 'afterMinutes', 2),
          metabaseAppIds: request.metabaseAppIds,
          signInCoverage,
        },
        { timings },
      ),
    );
    const matches = matching.counts;
    logger?.debug({ runId, slices: matching.slices, seconds: timings['matching'] }, 'logins matched');

    const state = stateAccess(db, asOf);
    const stateAtAsOf = state.stateAt;
    const directory = {
      personUpn: (personId: string) => identities.upnOf.get(personId) ?? null,
      accountEmail: (sourceId: string, accountId: number | string) => identities.emailOf.get(`${sourceId}|${accountId}`) ?? null,
    };

    await timed('state instants', () => state.readAll());

    // The rules are independent reads, each in a transaction of its own: on Postgres they
    // run as many at a time as matching has slices (one per core the server grants a
    // query), on the embedded engine one at a time. Results keep the rules' order.
    const evaluateRule = async (rule: Rule): Promise<RuleResult> => {
      const parameters = request.parameters[rule.id] ?? {};
      const context: RuleContext = {
        db,
        runId,
        directory,
        period,
        asOf,
        parameters,
        inventory,
        stateAt: stateAtAsOf,
      };
      const started = performance.now();
      // JIT off: the rules' statements are estimated expensive (state-at subqueries) but
      // run short index probes; compiling them cost seconds per rule at 20,000 accounts
      // (bench/out/*-plans*.txt, "JIT: … Total").
      const outcome = await db.transaction().execute(async (trx) => {
        await sql`set local jit = off`.execute(trx);
        return rule.evaluate({ ...context, db: trx });
      });
      const seconds = (performance.now() - started) / 1000;
      timings[`rule:${rule.id}`] = seconds;
      logger?.debug({ rule: rule.id, status: outcome.status, findings: outcome.findings.length, seconds }, 'rule evaluated');
      return { ...outcome, id: rule.id, severity: rule.severity, parameters, seconds };
    };
    const results = await timed('rules', () => inTurns(rules, matching.slices, evaluateRule));

    const findings = results.flatMap((result) => result.findings);
    await timed('storing findings', () =>
      db.transaction().execute(async (trx) => {
        for (const result of results) {
          await trx
            .insertInto('rule_evaluation')
            .values({
              run_id: runId,
              rule: result.id,
              status: result.status,
              reason: result.reason,
              parameters: JSON.stringify(result.parameters),
              finding_count: result.findings.length,
              detail: JSON.stringify({ ...result.detail, notEvaluableCount: result.notEvaluableCount }),
              seconds: result.seconds,
            })
            .execute();
        }
        // With each finding, its JSON as the API serves it (a run's findings never change).
        await insertFindings(trx, runId, findings);
      }),
    );

    const links: Record<string, number> = {};
    for (const link of identities.links) links[link.status] = (links[link.status] ?? 0) + 1;
    const stateObservedAt = await state.observedAt();
    const summary = {
      links,
      matches,
      people: identities.people,
      accounts: identities.accounts,
      terminatedIntervals: identities.intervals.length,
      findings: findings.length,
      timings,
      matchingSlices: matching.slices,
      inputsSha256,
      stateObservedAt: stateObservedAt?.toISOString() ?? null,
    } satisfies StoredRunSummary;
    await db
      .updateTable('correlation_run')
      .set({ status: 'succeeded', finished_at: new Date(), summary: JSON.stringify(summary) })
      .where('id', '=', runId)
      .execute();
    await pruneDerivedRows(db, runId);
    return {
      runId,
      period,
      asOf,
      inventory,
      links,
      matches,
      people: identities.people,
      accounts: identities.accounts,
      terminatedIntervals: identities.intervals.length,
      rules: results,
      findings,
      stateObservedAt,
      stateAt: stateAtAsOf,
      timings,
      reused: false,
    };
  } catch (error) {
    await db
      .updateTable('correlation_run')
      .set({ status: 'failed', finished_at: new Date(), summary: JSON.stringify({ error: (error as Error).message }) })
      .where('id', '=', runId)
      .execute();
    throw error;
  }
}

/** `work` over every item, at most `at` at a time; the results in the items' order.
 *  After a failure no further item starts; the first failure is thrown once the items
 *  already started have ended (nothing of the run goes on after it has failed). */
async function inTurns<T, R>(items: readonly T[], at: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const turn = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(at, items.length)) }, turn));
  if (failure) throw failure.error;
  return results;
}

/** State at as-of, read once per table and run: the instants of every state table, and
 *  when state was observed when that is later than as-of (over the tables used). */
function stateAccess(db: Kysely<Database>, asOf: Date) {
  const instantsCache = new Map<StateTableName, Promise<Map<string, Date>>>();
  const instantsOf = (table: StateTableName) => {
    let cached = instantsCache.get(table);
    if (!cached) {
      cached = stateInstants(db, table, asOf);
      instantsCache.set(table, cached);
    }
    return cached;
  };
  // The tables a rule (or the report) read: only their instants say when state was observed.
  const used = new Set<StateTableName>();
  return {
    async stateAt(table: StateTableName): Promise<RawBuilder<unknown>> {
      used.add(table);
      return stateAt(table, await instantsOf(table));
    },
    // Every state instant is read before the rules run: each rule runs in a transaction
    // of its own, and the embedded engine's one connection is then taken.
    async readAll(): Promise<void> {
      for (const table of Object.keys(stateTables) as StateTableName[]) await instantsOf(table);
    },
    async observedAt(): Promise<Date | null> {
      let latest: Date | null = null;
      for (const [table, promise] of instantsCache) {
        if (!used.has(table)) continue;
        const later = observedLater(await promise, asOf);
        if (later && (!latest || later > latest)) latest = later;
      }
      return latest;
    },
  };
}

/** A succeeded run read back as the result it returned (undefined when a rule of the
 *  request has no stored evaluation). */
async function loadRun(
  db: Kysely<Database>,
  request: CorrelationRequest,
  rules: readonly Rule[],
  period: TimeRange,
  run: { id: number; summary: StoredRunSummary },
): Promise<CorrelationResult | undefined> {
  const inventory = await loadInventory(db, { metabaseAppIds: request.metabaseAppIds, adminGroupIds: request.adminGroupIds });
  const stored = await loadRuleEvaluations(db, run.id);
  const results: RuleResult[] = [];
  for (const rule of rules) {
    const evaluation = stored.get(rule.id);
    if (!evaluation) return undefined;
    results.push({
      id: rule.id,
      severity: rule.severity,
      status: evaluation.status,
      reason: evaluation.reason,
      findings: evaluation.findings,
      notEvaluableCount: evaluation.notEvaluableCount,
      detail: evaluation.detail,
      parameters: evaluation.parameters,
      seconds: evaluation.seconds,
    });
  }
  const state = stateAccess(db, request.asOf);
  await state.readAll();
  const { summary } = run;
  return {
    runId: run.id,
    period,
    asOf: request.asOf,
    inventory,
    links: summary.links,
    matches: summary.matches as Record<MatchOutcome, number>,
    people: summary.people,
    accounts: summary.accounts,
    terminatedIntervals: summary.terminatedIntervals,
    rules: results,
    findings: results.flatMap((result) => result.findings),
    stateObservedAt: summary.stateObservedAt ? new Date(summary.stateObservedAt) : null,
    stateAt: state.stateAt,
    timings: summary.timings,
    reused: true,
  };
}

async function pruneDerivedRows(db: Kysely<Database>, latestRunId: number): Promise<void> {
  await dropUnattachedMatchTables(db);
  const keep = latestRunId - KEEP_DERIVED_RUNS;
  if (keep <= 0) return;
  for (const table of ['identity_link', 'person_terminated_interval'] as const) {
    await sql`delete from ${sql.table(table)} where run_id <= ${keep}`.execute(db);
  }
  // login_match: a run's rows are its partition (matching.ts), dropped whole. Dropping a
  // partition locks login_match exclusively: when a reader holds it longer than the lock
  // timeout, the old partitions stay until the next run prunes them.
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'login_match'::regclass`.execute(db);
  for (const { name } of rows) {
    const run = /^login_match_run_(\d+)$/.exec(name)?.[1];
    if (run === undefined || Number(run) > keep) continue;
    await dropUnlessBusy(db, name);
  }
  // Rows written without a partition of their own (the default partition).
  await sql`delete from login_match where run_id <= ${keep}`.execute(db);
}

/** A run's match table that was never attached: matching drops it when a step fails, but
 *  a process that died meanwhile leaves it behind (no reader sees it). Kept only while
 *  its run is running and started less than a day ago (a 1M correlation takes under a
 *  minute; a run marked running for longer died without saying so). A table a live run
 *  still writes is left for the next run when its lock is not granted within 2 s. */
async function dropUnattachedMatchTables(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_class c
    where c.relkind = 'r' and c.relnamespace = current_schema()::regnamespace and c.relname ~ '^login_match_run_[0-9]+$'
      and not exists (select 1 from pg_inherits i where i.inhrelid = c.oid)
      and not exists (
        select 1 from correlation_run r
        where 'login_match_run_' || r.id = c.relname and r.status = 'running' and r.started_at > now() - interval '1 day')`.execute(db);
  for (const { name } of rows) await dropUnlessBusy(db, name);
}

/** Drops a table, or leaves it for the next run when its lock is not granted within 2 s
 *  (a reader or a writer holds it). */
async function dropUnlessBusy(db: Kysely<Database>, name: string): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = '2s'`.execute(trx);
      await sql`drop table if exists ${sql.id(name)}`.execute(trx);
    });
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error; // lock_not_available
  }
}
