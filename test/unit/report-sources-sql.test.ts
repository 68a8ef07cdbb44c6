// Keeps the SQL the report model reads besides its populations (sources.repository.ts)
// under test/sql/, beside the populations' and the rules' SQL (issue 14: no SQL in
// build-model.ts). A change to a statement shows in review.
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';

import { sourceStatements } from '../../src/reports/sources.repository.js';
import type { Database } from '../../src/store/schema.js';

const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: {} as pg.Pool }) });
const period = { from: new Date('2026-07-01T00:00:00Z'), to: new Date('2026-10-01T00:00:00Z') };
const appIds = ['11111111-1111-1111-1111-111111111111'];

describe('the SQL behind the report sources and statistics', () => {
  it('is the snapshotted SQL, one statement per read', async () => {
    const statements = {
      'entra sign-in span': sourceStatements.entraLogSpan('entra_sign_in', 'entra:t', period),
      'entra directory audit span': sourceStatements.entraLogSpan('entra_directory_audit', 'entra:t', period),
      'directory snapshots': sourceStatements.directorySnapshots('entra:t'),
      'metabase event span': sourceStatements.metabaseEventSpan('metabase:m', period),
      'sign-ins per week and their multi-factor share': sourceStatements.signInsPerWeek(appIds, period),
    };
    const text = Object.entries(statements)
      .map(([name, query]) => {
        const compiled = query.compile(db);
        return `-- report sources: ${name}\n${compiled.sql.replace(/\n\s*\n/g, '\n').trim()};\n-- parameters: ${JSON.stringify(compiled.parameters)}\n`;
      })
      .join('\n');
    await expect(text).toMatchFileSnapshot('../sql/report-sources.sql');
    // Every read is bounded by its source, and the event reads by the period.
    for (const [name, query] of Object.entries(statements)) {
      const { parameters } = query.compile(db);
      expect(parameters, name).toSatisfy((values: readonly unknown[]) =>
        values.some((v) => v === 'entra:t' || v === 'metabase:m' || v === appIds),
      );
    }
  });
});
