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
import { resolveIdentities } from './identity/identity.repository.js';
import { loadInventory } from './inventory.js';
import { loginMatchPartition, matchLogins, type MatchOutcome } from './matching.js';
import { numberParameter, type RuleParameters } from './parameters.js';
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
}

/** Keep derived rows (links, intervals, matches) of the latest runs only; findings stay. */
const KEEP_DERIVED_RUNS = 5;

export async function correlate(db: Kysely<Database>, request: CorrelationRequest, logger?: Logger): Promise<CorrelationResult> {
  const asOf = request.asOf;
  const period = { from: request.period.from, to: new Date(Math.min(request.period.to.getTime(), asOf.getTime())) };
  const run = await db
    .insertInto('correlation_run')
    .values({
      period_from: request.period.from,
      period_to: request.period.to,
      as_of: asOf,
      parameters: JSON.stringify(request.parameters),
      status: 'running',
      summary: '{}',
      purpose: request.purpose ?? 'current',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const runId = Number(run.id);
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = (performance.now() - started) / 1000;
    }
  };

  try {
    const inventory = await loadInventory(db, { metabaseAppIds: request.metabaseAppIds, adminGroupIds: request.adminGroupIds });
    const identities = await timed('linking', () => resolveIdentities(db, runId, asOf));
    const bypass = request.parameters['sso-bypass'] ?? {};
    const signInCoverage = mergeRanges(inventory.entraSourceIds.flatMap((source) => inventory.coverage(source, streams.entraSignIns)));
    const matches = await timed('matching', () =>
      matchLogins(db, {
        runId,
        period,
        beforeMinutes: numberParameter(bypass, 'beforeMinutes', 10),
        afterMinutes: numberParameter(bypass, 'afterMinutes', 2),
        metabaseAppIds: request.metabaseAppIds,
        signInCoverage,
      }),
    );

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
    const stateAtAsOf = async (table: StateTableName): Promise<RawBuilder<unknown>> => {
      used.add(table);
      return stateAt(table, await instantsOf(table));
    };
    const directory = {
      personUpn: (personId: string) => identities.upnOf.get(personId) ?? null,
      accountEmail: (sourceId: string, accountId: number | string) => identities.emailOf.get(`${sourceId}|${accountId}`) ?? null,
    };

    // Every state instant is read before the rules run: each rule runs in a transaction
    // of its own (below), and the embedded engine's one connection is then taken.
    for (const table of Object.keys(stateTables) as StateTableName[]) await instantsOf(table);

    const results: RuleResult[] = [];
    for (const rule of request.rules ?? allRules) {
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
      results.push({ ...outcome, id: rule.id, severity: rule.severity, parameters, seconds });
      logger?.debug({ rule: rule.id, status: outcome.status, findings: outcome.findings.length, seconds }, 'rule evaluated');
    }

    const findings = results.flatMap((result) => result.findings);
    await db.transaction().execute(async (trx) => {
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
      for (let i = 0; i < findings.length; i += 1000) {
        await trx
          .insertInto('finding')
          .values(
            findings.slice(i, i + 1000).map((f) => ({
              run_id: runId,
              id: f.id,
              rule: f.rule,
              severity: f.severity,
              person_id: f.subject.personId,
              upn: f.subject.upn,
              account_id: f.subject.metabaseAccountId,
              email: f.subject.email,
              credential_id: f.subject.credentialId,
              subject_source: f.subject.source,
              summary: f.summary,
              first_seen: f.firstSeen,
              last_seen: f.lastSeen,
              evidence: JSON.stringify(f.evidence),
              detail: JSON.stringify(f.detail),
            })),
          )
          .execute();
      }
    });

    const links: Record<string, number> = {};
    for (const link of identities.links) links[link.status] = (links[link.status] ?? 0) + 1;
    let stateObservedAt: Date | null = null;
    for (const [table, promise] of instantsCache) {
      if (!used.has(table)) continue;
      const later = observedLater(await promise, asOf);
      if (later && (!stateObservedAt || later > stateObservedAt)) stateObservedAt = later;
    }
    const summary = {
      links,
      matches,
      people: identities.people,
      accounts: identities.accounts,
      terminatedIntervals: identities.intervals.length,
      findings: findings.length,
      timings,
    };
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

async function pruneDerivedRows(db: Kysely<Database>, latestRunId: number): Promise<void> {
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
    try {
      await db.transaction().execute(async (trx) => {
        await sql`set local lock_timeout = '2s'`.execute(trx);
        await sql`drop table ${sql.raw(loginMatchPartition(Number(run)))}`.execute(trx);
      });
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error; // lock_not_available
    }
  }
  // Rows written without a partition of their own (the default partition).
  await sql`delete from login_match where run_id <= ${keep}`.execute(db);
}
