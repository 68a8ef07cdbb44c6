// Keeps the SQL each rule compiles to under test/sql/, so a change to a query shows in
// review (and an auditor can read the exact query behind a finding).
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { matchLoginsStatement } from '../../src/correlation/matching.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import { rules } from '../../src/correlation/rules/index.js';
import { stateAt } from '../../src/correlation/state.js';
import type { RuleContext } from '../../src/correlation/types.js';
import type { Database } from '../../src/store/schema.js';

// Compiling needs a dialect, not a connection.
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as pg.Pool }) });
const parameters = resolveRuleParameters({}, { adminGroupIds: ['22222222-2222-2222-2222-222222222222'] });
const period = { from: new Date('2026-07-01T00:00:00Z'), to: new Date('2026-10-01T00:00:00Z') };

function contextFor(ruleId: string): RuleContext {
  return {
    db,
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
    stateAt: async (table) => stateAt(table, new Map([['source', period.to]])),
  };
}

describe('the SQL behind each rule', () => {
  it.each(rules.map((rule) => [rule.id, rule] as const))('%s', async (id, rule) => {
    const statements = await rule.statements(contextFor(id));
    const text = statements.map((s) => `-- ${id}: ${s.name}\n${s.sql.replace(/\n\s*\n/g, '\n').trim()};\n`).join('\n');
    await expect(text).toMatchFileSnapshot(`../sql/${id}.sql`);
  });

  it('login matching', async () => {
    const text = matchLoginsStatement({ runId: 1, period, beforeMinutes: 10, afterMinutes: 2, metabaseAppIds: ['app'], signInCoverage: [] }).compile(db).sql;
    await expect(`-- login matching\n${text.replace(/\n\s*\n/g, '\n').trim()};\n`).toMatchFileSnapshot('../sql/login-matching.sql');
  });
});
