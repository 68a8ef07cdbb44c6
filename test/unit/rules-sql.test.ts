// Keeps the SQL each rule runs beside the rule files, in src/correlation/rules/sql/<rule>.sql,
// so a change to a query shows in review and an auditor can read the exact statements
// behind a finding: each file opens with the rule's catalogue entry (title, severity,
// controls), its file and the parameters of the snapshot, then each statement with the
// values bound to $1, $2, … and the SQL laid out by formatSql. The statements are the ones
// evaluate runs (defineRule compiles the same builders). Rewrite after a deliberate change:
// npx vitest run test/unit/rules-sql.test.ts -u
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';

import { matchLoginsStatement } from '../../src/correlation/matching.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import { formatParameter, formatSql } from '../../src/correlation/rules/format-sql.js';
import { rules } from '../../src/correlation/rules/index.js';
import { stateAt } from '../../src/correlation/state.js';
import type { CompiledStatement, Rule, RuleContext } from '../../src/correlation/types.js';
import type { Database } from '../../src/store/schema.js';

// Compiling needs a dialect, not a connection.
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as pg.Pool }) });
const parameters = resolveRuleParameters({}, { adminGroupIds: ['22222222-2222-2222-2222-222222222222'] });
const period = { from: new Date('2026-07-01T00:00:00Z'), to: new Date('2026-10-01T00:00:00Z') };
const runId = 1;

function contextFor(ruleId: string): RuleContext {
  return {
    db,
    runId,
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

const context = `-- Compiled for run ${runId}, period [${period.from.toISOString()}, ${period.to.toISOString()}), as-of ${period.to.toISOString()}.`;
const regenerate = '-- Written by test/unit/rules-sql.test.ts; after a deliberate change: npx vitest run test/unit/rules-sql.test.ts -u';

function statementText(title: string, statement: Pick<CompiledStatement, 'sql' | 'parameters'>): string {
  const bound = statement.parameters.map((value, index) => `-- $${index + 1} = ${formatParameter(value)}`);
  return [`-- Statement: ${title}`, ...bound, `${formatSql(statement.sql)};`].join('\n');
}

function ruleSnapshot(rule: Rule, ruleParameters: Record<string, unknown>, statements: CompiledStatement[]): string {
  const parameterList = Object.entries(ruleParameters).map(([name, value]) => `${name} = ${formatParameter(value)}`);
  const header = [
    `-- ${rule.id}: ${rule.title}`,
    `-- Severity ${rule.severity}; controls ${rule.controls.join(', ')} (reports/catalogues/rules.json)`,
    `-- Rule file: ${rule.file}`,
    `-- Parameters: ${parameterList.length ? parameterList.join('; ') : 'none'}`,
    context,
    regenerate,
  ];
  return `${[header.join('\n'), ...statements.map((s) => statementText(s.name, s))].join('\n\n')}\n`;
}

describe('formatSql', () => {
  it('indents by parentheses outside literals and comments, and keeps each line as written', () => {
    const text =
      "select a, ')' as b\n      from (\nselect x -- (not a parenthesis\n  from t\n   where y = '('\n     and z\n) s\n  order by a";
    expect(formatSql(text)).toBe(
      "select a, ')' as b\nfrom (\n  select x -- (not a parenthesis\n  from t\n  where y = '('\n    and z\n) s\norder by a",
    );
  });
});

describe('the SQL behind each rule', () => {
  it.each(rules.map((rule) => [rule.id, rule] as const))('%s', async (id, rule) => {
    const ruleContext = contextFor(id);
    const statements = await rule.statements(ruleContext);
    expect(statements.length).toBeGreaterThan(0);
    // The layout moves line starts only: the snapshot is the compiled statement.
    for (const statement of statements) expect(formatSql(statement.sql).replace(/\s+/g, '')).toBe(statement.sql.replace(/\s+/g, ''));
    await expect(ruleSnapshot(rule, { ...rule.parameters, ...ruleContext.parameters }, statements)).toMatchFileSnapshot(
      `../../src/correlation/rules/sql/${id}.sql`,
    );
  });

  it('login matching (the input of sso-bypass)', async () => {
    const options = { runId, period, beforeMinutes: 10, afterMinutes: 2, metabaseAppIds: ['app'], signInCoverage: [] };
    const compiled = matchLoginsStatement(options).compile(db);
    const header = [
      "-- login matching: the Metabase logins of the run matched to Entra sign-ins, written into the run's partition of login_match (matchingSteps; read by sso-bypass)",
      '-- Code: src/correlation/matching.ts (matchLoginsStatement)',
      `-- Parameters: beforeMinutes = ${options.beforeMinutes}; afterMinutes = ${options.afterMinutes} (sso-bypass's entry in reports/catalogues/rules.json)`,
      context,
      regenerate,
    ].join('\n');
    await expect(`${header}\n\n${statementText('match logins', compiled)}\n`).toMatchFileSnapshot(
      '../../src/correlation/rules/sql/login-matching.sql',
    );
  });
});
