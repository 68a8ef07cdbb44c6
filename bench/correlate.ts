// Correlation benchmark: one `correlate` over the last 90 days of the generated store
// (bench/lib/correlation-store.ts: at scale 1, 1,000,000 Entra sign-ins, 1,000,000
// Metabase logins, 5,000,000 query executions, 20,000 accounts). Prints the seconds of
// linking, matching and every rule, the counts, and writes EXPLAIN (ANALYZE, BUFFERS) of
// the three slowest steps to bench/out/correlate-plans.txt. The reference, measured in
// the same run: one sequential scan of the period's rows of every table correlation
// reads (aim, issue 13: under 20 s and within 3× the scan at scale 1).
//
//   npx tsx bench/correlate.ts [--scale 1] [--keep] [--store URL] [--all-plans]
//
// --all-plans: the plans of every step, to bench/out/correlate-plans-all.txt.
//
// Without --store, a fresh database on the local Postgres (127.0.0.1:5432, or
// TEST_DATABASE_URL's server), dropped at the end (--keep leaves it and prints its URL).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

import { correlate, type CorrelationResult } from '../src/correlation/correlate.js';
import { loadAccounts, loadLifecycleAudits, loadPeople } from '../src/correlation/identity/identity.repository.js';
import { loadInventory } from '../src/correlation/inventory.js';
import { loginMatchPartition, matchingSteps } from '../src/correlation/matching.js';
import { numberParameter, resolveRuleParameters } from '../src/correlation/parameters.js';
import { rules } from '../src/correlation/rules/index.js';
import { stateAt, stateInstants } from '../src/correlation/state.js';
import type { RuleContext } from '../src/correlation/types.js';
import { mergeRanges } from '../src/store/collection.repository.js';
import { openStore } from '../src/store/database.js';
import type { Database } from '../src/store/schema.js';
import { streams } from '../src/store/streams.js';
import type { StateTableName } from '../src/store/tables.js';
import {
  ADMIN_GROUP,
  APP_ID,
  asOf,
  correlationStoreSizes,
  createCorrelationStore,
  period,
  scaleForSize,
  sharedCorrelationStore,
} from './lib/correlation-store.js';
import { argValue, type Benchmark, type BenchRow, isMain } from './lib/harness.js';

// --- plans --------------------------------------------------------------------------------

/** Compiling needs only a dialect; this one also keeps each compiled query's parameters,
 *  which `rule.statements()` drops (it returns the SQL text for review). */
function recordingCompiler() {
  const compiled: CompiledQuery[] = [];
  class RecordingDialect extends PostgresDialect {
    override createQueryCompiler() {
      const compiler = super.createQueryCompiler();
      const compileQuery = compiler.compileQuery.bind(compiler);
      compiler.compileQuery = ((node: Parameters<typeof compileQuery>[0], queryId: Parameters<typeof compileQuery>[1]) => {
        const query = compileQuery(node, queryId);
        compiled.push(query);
        return query;
      }) as typeof compiler.compileQuery;
      return compiler;
    }
  }
  const db = new Kysely<Database>({ dialect: new RecordingDialect({ pool: {} as pg.Pool }) });
  return { db, compiled };
}

async function explainStatement(client: pg.Client, text: string, parameters: readonly unknown[], rollback = false): Promise<string> {
  if (rollback) await client.query('begin');
  try {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, [...parameters]);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  } finally {
    if (rollback) await client.query('rollback');
  }
}

async function writePlans(
  db: Kysely<Database>,
  url: string,
  result: CorrelationResult,
  parameters: ReturnType<typeof resolveRuleParameters>,
  steps: number,
): Promise<string[]> {
  const slowest = Object.entries(result.timings)
    .sort((a, b) => b[1] - a[1])
    .slice(0, steps);
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC -c DateStyle=ISO' });
  await client.connect();
  // As the run executes them (correlate.ts, matching.ts): without JIT.
  await client.query('set jit = off');
  const sections: string[] = [];
  try {
    const inventory = await loadInventory(db, { metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] });
    for (const [step, seconds] of slowest) {
      const header = `=== ${step}: ${seconds.toFixed(2)} s in the run ===`;
      if (step === 'linking') {
        // Linking is in-process (linking.ts) over rows read by four queries: time them.
        const parts: string[] = [];
        for (const [name, work] of [
          ['loadPeople', () => loadPeople(db, asOf)],
          ['loadAccounts', () => loadAccounts(db, asOf)],
          ['loadLifecycleAudits', () => loadLifecycleAudits(db, asOf)],
        ] as const) {
          const started = performance.now();
          const rows = await work();
          parts.push(`${name}: ${((performance.now() - started) / 1000).toFixed(2)} s, ${rows.length} rows`);
        }
        sections.push(
          `${header}\nLinking is one in-process pass (linkAccounts, terminatedIntervals) over rows these reads return, then inserts of identity_link and person_terminated_interval:\n${parts.join('\n')}`,
        );
        continue;
      }
      if (step === 'matching') {
        const bypass = parameters['sso-bypass'] ?? {};
        const steps = matchingSteps({
          runId: result.runId,
          period: result.period,
          beforeMinutes: numberParameter(bypass, 'beforeMinutes', 10),
          afterMinutes: numberParameter(bypass, 'afterMinutes', 2),
          metabaseAppIds: [APP_ID],
          signInCoverage: mergeRanges(inventory.entraSourceIds.flatMap((source) => inventory.coverage(source, streams.entraSignIns))),
        });
        // The steps write the run's partition: drop it inside a transaction that is rolled
        // back, then run them again, the insert under EXPLAIN, so the plan is of the real one.
        await client.query('begin');
        try {
          await client.query('set local jit = off');
          await client.query("set local work_mem = '64MB'");
          await client.query(`drop table ${loginMatchPartition(result.runId)}`);
          const lines: string[] = [];
          for (const step of steps) {
            const compiled = step.query.compile(db);
            const started = performance.now();
            if (step.name === 'match') {
              const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${compiled.sql}`, [
                ...compiled.parameters,
              ]);
              lines.push(`-- ${step.name}: the insert into the run's partition table\n${rows.map((row) => row['QUERY PLAN']).join('\n')}`);
            } else {
              await client.query(compiled.sql, [...compiled.parameters]);
              lines.push(`-- ${step.name}: ${((performance.now() - started) / 1000).toFixed(2)} s (${compiled.sql})`);
            }
          }
          sections.push(`${header}\n${lines.join('\n')}`);
        } finally {
          await client.query('rollback');
        }
        continue;
      }
      const rule = rules.find((r) => `rule:${r.id}` === step);
      if (!rule) continue;
      const recorder = recordingCompiler();
      const instants = new Map<StateTableName, Map<string, Date>>();
      const context: RuleContext = {
        db: recorder.db,
        runId: result.runId,
        directory: { personUpn: () => null, accountEmail: () => null },
        period: result.period,
        asOf,
        parameters: parameters[rule.id] ?? {},
        inventory,
        stateAt: async (table) => {
          if (!instants.has(table)) instants.set(table, await stateInstants(db, table, asOf));
          return stateAt(table, instants.get(table)!);
        },
      };
      const statements = await rule.statements(context);
      const plans: string[] = [];
      for (const statement of statements) {
        const compiled = recorder.compiled.find((query) => query.sql === statement.sql);
        if (!compiled) {
          plans.push(`-- ${statement.name}: no SQL statement (${statement.sql})`);
          continue;
        }
        plans.push(`-- ${rule.id}: ${statement.name}\n${await explainStatement(client, compiled.sql, compiled.parameters)}`);
      }
      sections.push(`${header}\n${plans.join('\n\n')}`);
    }
  } finally {
    await client.end();
  }
  return sections;
}

// --- the benchmark --------------------------------------------------------------------------

/** The tables correlation reads, and whether they hold events (read for the period). */
const SCANNED_TABLES: [string, boolean][] = [
  ['entra_sign_in', true],
  ['entra_directory_audit', true],
  ['metabase_login', true],
  ['metabase_query_execution', true],
  ['metabase_view', true],
  ['metabase_audit_event', true],
  ['metabase_session', false],
  ['metabase_auth_identity', false],
  ['entra_user_version', false],
  ['metabase_account_version', false],
  ['metabase_membership_version', false],
  ['metabase_group_version', false],
  ['entra_group_member_version', false],
];

/** One sequential scan of the period's rows of every table correlation reads (index
 *  scans off, so each is a scan of the partitions the period prunes to). */
export async function scanReference(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
  await client.connect();
  try {
    await client.query('set enable_indexscan = off; set enable_indexonlyscan = off; set enable_bitmapscan = off');
    const started = performance.now();
    for (const [table, events] of SCANNED_TABLES) {
      if (events)
        await client.query(`select count(*) from ${table} where occurred_at >= $1 and occurred_at < $2`, [period.from, period.to]);
      else await client.query(`select count(*) from ${table}`);
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
  }
}

export interface CorrelationMeasurement {
  result: CorrelationResult;
  seconds: number;
  scanSeconds: number;
  /** The findings compared with the previous succeeded run of the same period and as-of
   *  on this store (made by whatever code ran then): a change of code must not change them. */
  sameAsPrevious: { runId: number; differing: number } | null;
}

/** Findings of run `a` and `b` that differ in any stored column (both directions). */
async function differingFindings(db: Kysely<Database>, a: number, b: number): Promise<number> {
  const columns = sql.raw(
    'rule, id, severity, person_id, upn, account_id, email, credential_id, subject_source, summary, first_seen, last_seen, evidence, detail',
  );
  const { rows } = await sql<{ n: number }>`
    select ((select count(*) from (select ${columns} from finding where run_id = ${a} except select ${columns} from finding where run_id = ${b}) x)
          + (select count(*) from (select ${columns} from finding where run_id = ${b} except select ${columns} from finding where run_id = ${a}) y))::int as n`.execute(
    db,
  );
  return rows[0]?.n ?? 0;
}

/** Runs the reference scan and one correlate() on the store at `url`; prints the steps. */
export async function measureCorrelation(
  url: string,
  options: { plansFile?: string; quiet?: boolean; allPlans?: boolean } = {},
): Promise<CorrelationMeasurement> {
  const log = options.quiet ? () => undefined : (line: string) => console.log(line);
  const store = await openStore({ databaseUrl: url, poolSize: 4 });
  try {
    const parameters = resolveRuleParameters({}, { adminGroupIds: [ADMIN_GROUP] });
    const scanSeconds = await scanReference(url);
    log(`reference: one sequential scan of the period's rows of ${SCANNED_TABLES.length} tables: ${scanSeconds.toFixed(2)} s`);
    const started = performance.now();
    const result = await correlate(store.db, { period, asOf, parameters, metabaseAppIds: [APP_ID], adminGroupIds: [ADMIN_GROUP] });
    const seconds = (performance.now() - started) / 1000;
    const previous = await store.db
      .selectFrom('correlation_run')
      .select('id')
      .where('status', '=', 'succeeded')
      .where('id', '<', result.runId)
      .where('period_from', '=', period.from)
      .where('as_of', '=', asOf)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const sameAsPrevious = previous
      ? { runId: Number(previous.id), differing: await differingFindings(store.db, result.runId, Number(previous.id)) }
      : null;
    log('seconds per step:');
    for (const [name, s] of Object.entries(result.timings)) log(`  ${name.padEnd(32)} ${s.toFixed(2).padStart(8)}`);
    log(`  ${'correlate() wall time'.padEnd(32)} ${seconds.toFixed(2).padStart(8)}   (${(seconds / scanSeconds).toFixed(2)}× the scan)`);
    log(`people ${result.people}, accounts ${result.accounts}, terminated intervals ${result.terminatedIntervals}`);
    log(
      `links: ${Object.entries(result.links)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    log(
      `login outcomes: ${Object.entries(result.matches)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    if (sameAsPrevious)
      log(`findings against run ${sameAsPrevious.runId} (the previous run of this period): ${sameAsPrevious.differing} differ`);
    log('rules:');
    for (const rule of result.rules) {
      log(
        `  ${rule.id.padEnd(26)} ${rule.status.padEnd(14)} ${String(rule.findings.length).padStart(6)} finding(s)${rule.notEvaluableCount ? `, ${rule.notEvaluableCount} not evaluable` : ''}${rule.reason ? ` — ${rule.reason}` : ''}`,
      );
    }
    if (options.plansFile) {
      const which = options.allPlans ? 'every step' : 'the three slowest steps';
      const sections = await writePlans(store.db, url, result, parameters, options.allPlans ? Infinity : 3);
      mkdirSync(path.dirname(options.plansFile), { recursive: true });
      writeFileSync(
        options.plansFile,
        `correlate bench, ${new Date().toISOString()}\n${which} of the run, slowest first, re-run under EXPLAIN (ANALYZE, BUFFERS) (caches warm)\n\n${sections.join('\n\n')}\n`,
      );
      log(`plans of ${which}: ${path.relative(process.cwd(), options.plansFile)}`);
    }
    return { result, seconds, scanSeconds, sameAsPrevious };
  } finally {
    await store.close();
  }
}

export const sizeLabel = (scale: number) => {
  const n = correlationStoreSizes(scale);
  return `${n.signIns.toLocaleString('en')} sign-ins, ${n.logins.toLocaleString('en')} logins, ${n.queries.toLocaleString('en')} queries, ${n.accounts.toLocaleString('en')} accounts`;
};

export const benchmark: Benchmark = {
  name: 'correlate',
  description: 'one correlate() over 90 days of the generated store, against one sequential scan of the rows it reads',
  sizes: ['quick', '10k', '100k', '1m'],
  async run({ size, outDir, storeUrl }) {
    const scale = scaleForSize(size);
    const url = storeUrl ?? (await sharedCorrelationStore(scale));
    const measured = await measureCorrelation(url, {
      plansFile: path.join(outDir, size === '1m' ? 'correlate-plans.txt' : `correlate-plans-${size}.txt`),
      quiet: true,
    });
    const signIns = correlationStoreSizes(scale).signIns;
    const row: BenchRow = {
      stage: 'correlate',
      size: sizeLabel(scale),
      throughput: { value: signIns / measured.seconds, unit: 'sign-ins/s' },
      seconds: measured.seconds,
      reference: { name: 'seq scan of the rows read', seconds: measured.scanSeconds },
      note: `matching ${measured.result.timings['matching']?.toFixed(1)} s, access-after-termination ${measured.result.timings['rule:access-after-termination']?.toFixed(1)} s${measured.sameAsPrevious ? `; findings ${measured.sameAsPrevious.differing === 0 ? 'identical to' : `${measured.sameAsPrevious.differing} differ from`} run ${measured.sameAsPrevious.runId}` : ''}`,
    };
    return [row];
  },
};

async function main() {
  const scale = Number(argValue(process.argv, 'scale') ?? 1);
  const keep = process.argv.includes('--keep');
  const given = argValue(process.argv, 'store');
  console.log(`correlate bench, scale ${scale}: ${sizeLabel(scale)}`);
  console.log(
    `period ${period.from.toISOString()} – ${period.to.toISOString()} (90 days), as-of ${asOf.toISOString()}; events span 120 days`,
  );
  let made: Awaited<ReturnType<typeof createCorrelationStore>> | undefined;
  if (!given) {
    console.log('generating the store (bench/lib/correlation-store.ts)…');
    made = await createCorrelationStore(scale);
    console.log(`  generated in ${made.generated.seconds.toFixed(1)} s`);
  }
  const url = given ?? made!.url;
  try {
    const allPlans = process.argv.includes('--all-plans');
    await measureCorrelation(url, {
      plansFile: path.resolve(allPlans ? 'bench/out/correlate-plans-all.txt' : 'bench/out/correlate-plans.txt'),
      allPlans,
    });
  } finally {
    if (made) {
      if (keep) console.log(`kept database: ${url}`);
      else await made.drop();
    }
  }
}

if (isMain(import.meta.url)) await main();
