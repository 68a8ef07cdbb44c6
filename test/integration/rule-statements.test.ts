// evaluate runs exactly the statements that are snapshotted (src/correlation/rules/sql/):
// each rule is evaluated over a migrated, empty store through a Kysely that logs every
// query it executes, and the executed SQL must be the SQL its statements() compile to —
// no statement kept only for review, no query run that review does not see.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import { rules } from '../../src/correlation/rules/index.js';
import { stateAt } from '../../src/correlation/state.js';
import type { RuleContext } from '../../src/correlation/types.js';
import type { Database } from '../../src/store/schema.js';
import { openTestStore, type TestStore } from '../support/database.js';

const period = { from: new Date('2026-07-01T00:00:00Z'), to: new Date('2026-10-01T00:00:00Z') };
// Every source present and no capability known missing, so no precondition stops a rule
// and every statement of every rule runs.
const parameters = resolveRuleParameters({}, { adminGroupIds: ['22222222-2222-2222-2222-222222222222'] });

describe('evaluate runs the snapshotted statements', () => {
  let store: TestStore;
  let db: Kysely<Database> | undefined;
  const executed: string[] = [];

  beforeAll(async () => {
    store = await openTestStore('postgres');
    if (store.url) {
      db = new Kysely<Database>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: store.url, max: 2 }) }),
        log: (event) => {
          executed.push(event.query.sql);
        },
      });
    }
  });
  afterAll(async () => {
    await db?.destroy();
    await store?.dispose();
  });

  function contextFor(ruleId: string, database: Kysely<Database>): RuleContext {
    return {
      db: database,
      runId: 1,
      directory: { personUpn: () => null, accountEmail: () => null },
      period,
      asOf: period.to,
      parameters: parameters[ruleId] ?? {},
      inventory: {
        entraSourceIds: ['entra:t'],
        metabaseSourceIds: ['metabase:m'],
        metabaseAppIds: ['11111111-1111-1111-1111-111111111111'],
        adminGroupIds: [],
        coverage: () => [],
        capability: () => undefined,
        oldestAvailable: () => undefined,
      },
      stateAt: async (table) =>
        stateAt(
          table,
          new Map([
            ['entra:t', period.to],
            ['metabase:m', period.to],
          ]),
        ),
    };
  }

  it.each(rules.map((rule) => [rule.id, rule] as const))('%s', async (id, rule) => {
    if (!db) return; // the logging connection needs the Postgres server
    const context = contextFor(id, db);
    const reviewed = (await rule.statements(context)).map((statement) => statement.sql);
    executed.length = 0;
    const outcome = await rule.evaluate(context);
    expect(outcome.status).toBe('evaluated');
    expect([...executed].sort()).toEqual([...reviewed].sort());
  });
});
