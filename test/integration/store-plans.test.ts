// The store's read paths at size read through partitions and indexes, never a whole
// evidence table where one serves (issue 13). A store of the correlation benchmark's
// shape at its smallest scale (200 accounts, 10,000 sign-ins, 10,000 logins, 50,000 query
// executions; vacuumed and analysed, so the planner has real statistics) answers:
//  - the API's list queries (findings page, coverage, accounts), captured as the routes
//    issue them;
//  - a report's population queries (src/reports/populations.repository.ts), explained
//    inside the report's own transaction (they read its temporary tables);
//  - `verify --store`'s batch walk (src/store/chain.ts).
// Each statement is EXPLAINed with its own parameters, and its access paths over
// evidence tables compared with the list below: a regression names the query, the table
// and the path it took.
import { type CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ADMIN_GROUP, APP_ID, asOf, createCorrelationStore, ENTRA, period } from '../../bench/lib/correlation-store.js';
import { createApiKeyRepository } from '../../src/api/api-keys.js';
import { buildApp } from '../../src/api/app.js';
import { parseConfig } from '../../src/config.js';
import { correlateFromConfig } from '../../src/correlation/service.js';
import { createLogger } from '../../src/logger.js';
import { buildReportModel } from '../../src/reports/build-model.js';
import { verifyChain } from '../../src/store/chain.js';
import type { Store } from '../../src/store/database.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import type { Database } from '../../src/store/schema.js';
import { allEvidenceTables } from '../../src/store/tables.js';
import { signInRecord } from '../support/factories.js';

interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

interface Access {
  node: string;
  relation: string;
  index?: string;
}

/** Evidence table a relation belongs to (a partition `entra_sign_in_2026_04` belongs to
 *  `entra_sign_in`), or undefined for tables that hold no evidence. */
const evidenceNames = allEvidenceTables.map((spec) => spec.name).sort((a, b) => b.length - a.length);
function evidenceTableOf(relation: string): string | undefined {
  return evidenceNames.find((name) => relation === name || relation.startsWith(`${name}_`));
}

function accessesOf(plan: unknown): Access[] {
  const out: Access[] = [];
  const walk = (node: Record<string, unknown>) => {
    const relation = node['Relation Name'];
    if (typeof relation === 'string') {
      out.push({
        node: String(node['Node Type']),
        relation,
        ...(typeof node['Index Name'] === 'string' ? { index: node['Index Name'] } : {}),
      });
    }
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((plan as { Plan: Record<string, unknown> }[])[0]!.Plan);
  return out;
}

/** Whole-table reads that are the statement's purpose, each with its reason. */
const wholeTableReads: Record<string, { table: string; reason: string }[]> = {
  'verify: batch walk, a batch that is most of its table': allEvidenceTables.map((spec) => ({
    table: spec.name,
    reason: 'the batch holds most of the table (generated bulk rows)',
  })),
  // Rows that claim a batch the chain does not hold: every row must be looked at.
  'verify: orphan rows': allEvidenceTables.map((spec) => ({ table: spec.name, reason: 'checks every row against the chain' })),
};

let made: Awaited<ReturnType<typeof createCorrelationStore>>;
let pool: pg.Pool;
let db: Kysely<Database>;
let captured: Statement[] = [];
const plans = new Map<string, Access[]>();
/** Rows per table (pg_class.reltuples after ANALYZE). */
const tableRows = new Map<string, number>();
let findingRows = 0;
/** A table smaller than this is read whole by any plan (a few pages): a sequential scan
 *  of it is the planner's right choice, not a missing index. */
const SMALL_TABLE_ROWS = 1_000;

async function explain(name: string, statement: Statement, on: Kysely<Database> = db): Promise<void> {
  const compiled = {
    sql: `explain (format json) ${statement.sql}`,
    parameters: statement.parameters,
    query: undefined,
  } as unknown as CompiledQuery;
  const result = await on.executeQuery<{ 'QUERY PLAN': unknown }>(compiled);
  const accesses = accessesOf(result.rows[0]!['QUERY PLAN']);
  plans.set(name, [...(plans.get(name) ?? []), ...accesses]);
}

/** The statements `run` issues, explained under `name`. */
async function capture(name: string, run: () => Promise<unknown>, keep: (s: Statement) => boolean = () => true): Promise<void> {
  captured = [];
  await run();
  const statements = captured.filter((s) => /^\s*(select|with)\b/i.test(s.sql) && keep(s));
  expect(statements.length, `${name}: statements captured`).toBeGreaterThan(0);
  for (const statement of statements) await explain(name, statement);
}

const poolErrors: Error[] = [];

beforeAll(async () => {
  made = await createCorrelationStore(0.01);
  pool = new pg.Pool({
    connectionString: made.url,
    max: 4,
    options: '-c TimeZone=UTC -c DateStyle=ISO',
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
    },
  });
  // The teardown's `drop database … with (force)` may reach a connection that pool.end()
  // is still closing: Postgres ends it with 57P01, which an idle client emits on the pool.
  // That one is expected; anything else fails the file.
  pool.on('error', (error: Error & { code?: string }) => {
    if (error.code !== '57P01') poolErrors.push(error);
  });
  db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'query') captured.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  const config = parseConfig(
    { DATABASE_URL: made.url, ENTRA_METABASE_APP_IDS: APP_ID, ENTRA_ADMIN_GROUP_IDS: ADMIN_GROUP, ACCESSTRAIL_LOG_LEVEL: 'silent' },
    '/tmp',
  );
  const correlation = await correlateFromConfig(db, config, { from: period.from, to: period.to, asOf, purpose: 'current' });
  // Findings of earlier runs stay in the table (each run keeps its own): 20 runs' worth,
  // so a page of the latest run is a range among thousands of rows, not the whole table.
  const run = await db.selectFrom('correlation_run').selectAll().where('id', '=', correlation.runId).executeTakeFirstOrThrow();
  for (let i = 1; i <= 20; i++) {
    const earlier = await db
      .insertInto('correlation_run')
      .values({
        period_from: run.period_from,
        period_to: run.period_to,
        as_of: run.as_of,
        parameters: JSON.stringify(run.parameters),
        status: 'succeeded',
        finished_at: new Date(asOf.getTime() - i * 86_400_000),
        summary: '{}',
        purpose: 'current',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await sql`insert into finding select ${earlier.id}::bigint, id || '-' || ${String(i)}, rule, severity, person_id, upn, account_id,
      email, credential_id, subject_source, summary, first_seen, last_seen, evidence, detail from finding where run_id = ${correlation.runId}`.execute(
      db,
    );
  }
  // Collected batches as collectors write them (100 rows each, all in May): the
  // generator's bulk rows share one batch per table, which a walk reads whole by nature;
  // in a collected store a batch is a sliver of its month.
  const may = Date.parse('2026-05-01T00:00:00Z');
  const records = Array.from({ length: 3_000 }, (_, i) =>
    signInRecord({ id: `plans-${i}`, at: new Date(may + i * 600_000).toISOString() }),
  );
  await createEvidenceRepository(db).writeEvents('entra_sign_in', ENTRA, records, { batchRows: 100 });
  // What autovacuum does shortly after a correlation run: statistics of what it wrote.
  await sql`analyze`.execute(db);
  const sizes = await sql<{ relname: string; rows: number }>`
    select relname, reltuples::float8 as rows from pg_class where relkind in ('r', 'p')`.execute(db);
  for (const row of sizes.rows) tableRows.set(row.relname, Number(row.rows));
  findingRows = tableRows.get('finding') ?? 0;

  // The API, as its routes issue their statements.
  const store: Store = { db, engine: 'postgres', location: 'plans test', close: async () => undefined };
  const app = await buildApp({ store, config, logger: createLogger({ level: 'silent' }), now: () => asOf });
  const key = (await createApiKeyRepository(db).create({ name: 'plans', scopes: ['admin'] })).key;
  const headers = { authorization: `Bearer ${key}` };
  const notAuth = (s: Statement) => !/"api_key"/.test(s.sql);
  try {
    for (const [name, url] of [
      ['api: findings page', '/v1/findings?limit=100'],
      ['api: coverage', '/v1/coverage'],
      ['api: accounts page', '/v1/accounts?limit=100'],
    ] as const) {
      await capture(
        name,
        async () => {
          const response = await app.inject({ method: 'GET', url, headers });
          expect(response.statusCode, `${url}: ${response.body.slice(0, 200)}`).toBe(200);
        },
        notAuth,
      );
    }
  } finally {
    await app.close();
  }

  // A report's populations, explained in the report's transaction (temporary tables).
  await buildReportModel({
    db,
    framework: 'soc2',
    period,
    generatedAt: asOf,
    correlation,
    observePopulationStatement: async (name, compiled, trx) => {
      if (!/^\s*(select|with)\b/i.test(compiled.sql)) return;
      await explain(`report: ${name}`, compiled, trx);
    },
  });

  // verify --store: the orphan check, then per batch its live rows and archived revisions
  // as verifyChain issues them. The generated store's bulk rows are not chained (they are
  // made by insert … select), so the walk stops early there; the per-batch statement is
  // also explained for a batch of every evidence table, as the walk would issue it.
  await capture(
    'verify: batch walk',
    () => verifyChain(db),
    (s) => !/not exists/i.test(s.sql),
  );
  await capture(
    'verify: orphan rows',
    () => verifyChain(db),
    (s) => /not exists/i.test(s.sql),
  );
  for (const spec of allEvidenceTables) {
    // The table's smallest batch; when even that one is most of the table (the
    // generator's bulk rows), reading it is reading the table.
    const some = await sql<{ batch_id: number; n: number; total: number }>`
      select batch_id, count(*)::float8 as n, sum(count(*)) over ()::float8 as total
      from ${sql.table(spec.name)} group by batch_id order by 2 limit 1`.execute(db);
    const smallest = some.rows[0];
    if (smallest === undefined) continue;
    const batchId = smallest.batch_id;
    const name = smallest.n * 2 > smallest.total ? 'verify: batch walk, a batch that is most of its table' : 'verify: batch walk';
    await explain(name, { sql: `select * from "${spec.name}" where batch_id = $1`, parameters: [batchId] });
    await explain('verify: batch walk', {
      sql: 'select "row_data" from "evidence_revision" where "target_table" = $1 and "batch_id" = $2',
      parameters: [spec.name, batchId],
    });
  }
}, 600_000);

afterAll(async () => {
  await db?.destroy();
  await made?.drop();
  expect(poolErrors).toEqual([]);
});

describe('read paths over evidence tables use partitions and indexes (EXPLAIN)', () => {
  it('explained every query it names, on a store large enough for the planner to choose', () => {
    expect(findingRows).toBeGreaterThan(1_000);
    expect(tableRows.get('metabase_query_execution') ?? 0).toBeGreaterThan(10_000);
    expect([...plans.keys()].sort()).toEqual(
      expect.arrayContaining([
        'api: findings page',
        'api: coverage',
        'api: accounts page',
        'report: humanAccounts',
        'report: terminatedPeople',
        'report: privileged',
        'report: privilegeChanges',
        'report: nonHuman',
        'verify: batch walk',
        'verify: orphan rows',
      ]),
    );
  });

  it('no query reads a whole evidence table by a sequential scan, unless that is its purpose', () => {
    const offences: string[] = [];
    for (const [name, accesses] of plans) {
      for (const access of accesses) {
        const table = evidenceTableOf(access.relation);
        if (!table || access.node !== 'Seq Scan') continue;
        if ((tableRows.get(access.relation) ?? 0) < SMALL_TABLE_ROWS) continue;
        if (wholeTableReads[name]?.some((allowed) => allowed.table === table)) continue;
        offences.push(`${name}: Seq Scan on ${access.relation}`);
      }
    }
    expect(offences).toEqual([]);
  });

  // The expected access path of each query over the tables it reads most, by name.
  const expected: [query: string, node: RegExp, relation: RegExp, index?: RegExp][] = [
    // A page of findings is a range of the primary key (run_id, id) read in order.
    ['api: findings page', /^Index( Only)? Scan$/, /^finding$/, /^finding_pkey$/],
    // Accounts: a range of identity_link's key, each account's latest version by index.
    ['api: accounts page', /^Index( Only)? Scan$/, /^identity_link$/],
    ['api: accounts page', /^Index( Only)? Scan$/, /^metabase_account_version/],
    // Batch walk: a collected batch's rows by the batch index (BRIN: a bitmap scan).
    ['verify: batch walk', /^(Bitmap Heap Scan|Index Scan|Index Only Scan)$/, /^entra_sign_in/],
    // First/last activity of an account: index probes on (source, user, time).
    ['report: humanAccounts', /^Index( Only)? Scan$/, /^metabase_login/],
    ['report: humanAccounts', /^Index( Only)? Scan$/, /^entra_sign_in/],
  ];
  it.each(expected)('%s reads %s on %s', (query, node, relation, index) => {
    const accesses = plans.get(query) ?? [];
    const match = accesses.find((a) => node.test(a.node) && relation.test(a.relation) && (!index || index.test(a.index ?? '')));
    expect(match, `${query}: ${JSON.stringify(accesses)}`).toBeDefined();
  });
});
