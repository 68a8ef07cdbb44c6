// Keeps the SQL of the report's populations under test/sql/, beside the rules' SQL (issue
// 14): the temporary state tables each report materialises and analyses, then the
// population queries over them. A change to either shows in review.
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';

import { stateAt } from '../../src/correlation/state.js';
import type { RuleContext } from '../../src/correlation/types.js';
import {
  POPULATION_STATE_INPUTS,
  populationInputStatements,
  populationStatements,
  stateInputTable,
} from '../../src/reports/populations.repository.js';
import type { Database } from '../../src/store/schema.js';

const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as pg.Pool }) });
const period = { from: new Date('2026-07-01T00:00:00Z'), to: new Date('2026-10-01T00:00:00Z') };
const inventory = {
  entraSourceIds: ['entra:t'],
  metabaseSourceIds: ['metabase:m'],
  metabaseAppIds: ['11111111-1111-1111-1111-111111111111'],
  adminGroupIds: ['22222222-2222-2222-2222-222222222222'],
  coverage: () => [],
  capability: () => undefined,
  oldestAvailable: () => undefined,
};
const context: RuleContext = {
  db,
  runId: 1,
  directory: { personUpn: () => null, accountEmail: () => null },
  period,
  asOf: period.to,
  parameters: {},
  inventory,
  stateAt: async (table) => stateAt(table, new Map([['source', period.to]])),
};

describe('the SQL behind the report populations', () => {
  it('materialises each state input once and reads only those tables for state', async () => {
    const inputs = await populationInputStatements(context);
    const queries = await populationStatements({ context, correlation: { inventory }, period });
    const text = [...inputs, ...queries]
      .map(
        (s) =>
          `-- report populations: ${s.name}\n${s.query
            .compile(db)
            .sql.replace(/\n\s*\n/g, '\n')
            .trim()};\n`,
      )
      .join('\n');
    await expect(text).toMatchFileSnapshot('../sql/report-populations.sql');
    // No population query re-derives state at as-of from a version table: that is what
    // made the planner's estimates wrong (issue 13).
    for (const query of queries) expect(query.query.compile(db).sql, query.name).not.toMatch(/jsonb_to_recordset/);
    for (const table of POPULATION_STATE_INPUTS)
      expect(inputs.map((s) => s.query.compile(db).sql).join('\n')).toContain(`"${stateInputTable(table)}"`);
  });
});
