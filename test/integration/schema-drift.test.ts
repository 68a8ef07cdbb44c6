// Drift between the migrated database and the two TypeScript descriptions of it (issue
// 14): src/store/schema.ts (Kysely's types, read here with the TypeScript compiler so
// the test sees what the code compiles against) and src/store/tables.ts (the evidence
// writer's and verifier's column lists). A migration that adds, drops, retypes or
// changes the nullability of a column without the code following fails here, naming
// the table and column.
import path from 'node:path';

import { sql } from 'kysely';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { allEvidenceTables, type ColumnType } from '../../src/store/tables.js';
import { openTestStore, type TestStore } from '../support/database.js';

type Kind = 'text' | 'number' | 'boolean' | 'timestamp' | 'json' | 'array' | 'bytes' | 'other';

interface DeclaredColumn {
  kind: Kind;
  nullable: boolean;
  generated: boolean;
  type: string;
}

/** Tables of schema.ts's `Database` interface → their columns as declared. */
function declaredSchema(): Map<string, Map<string, DeclaredColumn>> {
  const file = path.resolve(import.meta.dirname, '../../src/store/schema.ts');
  const program = ts.createProgram([file], {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const database = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Database')!;
  const tables = new Map<string, Map<string, DeclaredColumn>>();
  for (const member of database.members) {
    if (!ts.isPropertySignature(member) || !member.type) continue;
    const tableType = checker.getTypeFromTypeNode(member.type);
    const columns = new Map<string, DeclaredColumn>();
    for (const property of checker.getPropertiesOfType(tableType)) {
      const declaration = property.declarations?.[0];
      if (!declaration || !ts.isPropertySignature(declaration) || !declaration.type) continue;
      const text = declaration.type.getText();
      columns.set(property.name, classify(text));
    }
    tables.set((member.name as ts.Identifier).text, columns);
  }
  return tables;
}

function classify(text: string): DeclaredColumn {
  const generated = /^Generated<.*>$/.test(text);
  let inner = generated ? text.replace(/^Generated<(.*)>$/, '$1') : text;
  const parts = inner.split('|').map((p) => p.trim());
  const nullable = parts.includes('null');
  inner = parts.filter((p) => p !== 'null').join(' | ');
  let kind: Kind = 'other';
  if (/^(Timestamp|Date)$/.test(inner)) kind = 'timestamp';
  else if (/^Json$/.test(inner)) kind = 'json';
  else if (/\[\]$/.test(inner)) kind = 'array';
  else if (inner === 'number') kind = 'number';
  else if (inner === 'boolean') kind = 'boolean';
  else if (inner === 'Buffer' || inner === 'Uint8Array') kind = 'bytes';
  else if (inner === 'string' || /^'[^']*'( \| '[^']*')*$/.test(inner)) kind = 'text';
  return { kind, nullable, generated, type: text };
}

function kindOfPostgres(dataType: string): Kind {
  if (['text', 'character varying', 'character', 'uuid', 'inet'].includes(dataType)) return 'text';
  if (['integer', 'bigint', 'smallint', 'numeric', 'double precision', 'real'].includes(dataType)) return 'number';
  if (dataType === 'boolean') return 'boolean';
  // Only timestamptz: a `timestamp without time zone` column would read in the session zone.
  if (dataType === 'timestamp with time zone') return 'timestamp';
  if (dataType === 'jsonb' || dataType === 'json') return 'json';
  if (dataType === 'ARRAY') return 'array';
  if (dataType === 'bytea') return 'bytes';
  return 'other';
}

const specType: Record<ColumnType, (c: { data_type: string; udt_name: string }) => boolean> = {
  text: (c) => c.data_type === 'text',
  'text[]': (c) => c.data_type === 'ARRAY' && c.udt_name === '_text',
  timestamptz: (c) => c.data_type === 'timestamp with time zone',
  boolean: (c) => c.data_type === 'boolean',
  integer: (c) => c.data_type === 'integer',
  bigint: (c) => c.data_type === 'bigint',
};

interface DbColumn {
  table_name: string;
  column_name: string;
  data_type: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
  is_identity: 'YES' | 'NO';
}

describe('schema drift: migrations vs schema.ts and tables.ts', () => {
  let store: TestStore;
  let columns: Map<string, Map<string, DbColumn>>;
  const declared = declaredSchema();

  beforeAll(async () => {
    store = await openTestStore('postgres');
    // Tables (partitioned parents included), not the partitions, not the migration ledger.
    const { rows } = await sql<DbColumn>`
      select c.table_name, c.column_name, c.data_type, c.udt_name, c.is_nullable, c.column_default, c.is_identity
      from information_schema.columns c
      join pg_class k on k.relname = c.table_name and k.relnamespace = 'public'::regnamespace
      where c.table_schema = 'public' and not k.relispartition and k.relkind in ('r', 'p') and c.table_name <> 'schema_migration'
      order by c.table_name, c.ordinal_position`.execute(store.db);
    columns = new Map();
    for (const row of rows) {
      if (!columns.has(row.table_name)) columns.set(row.table_name, new Map());
      columns.get(row.table_name)!.set(row.column_name, row);
    }
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('schema.ts was read (the comparison is not vacuous)', () => {
    expect(declared.size).toBeGreaterThan(30);
    // Migration 0012: raw (rows written before it) or raw_packed (rows written since).
    expect(declared.get('entra_sign_in')?.get('raw')).toMatchObject({ kind: 'json', nullable: true });
    expect(declared.get('entra_sign_in')?.get('raw_packed')).toMatchObject({ kind: 'bytes', nullable: true });
    expect(declared.get('entra_directory_audit')?.get('raw')).toMatchObject({ kind: 'json', nullable: false });
    expect(declared.get('collection_run')?.get('finished_at')).toMatchObject({ kind: 'timestamp', nullable: true });
  });

  it('the same tables in the database and in schema.ts', () => {
    expect([...columns.keys()].sort()).toEqual([...declared.keys()].sort());
  });

  it('every table has the same columns, with matching types and nullability', () => {
    const problems: string[] = [];
    for (const [table, dbColumns] of columns) {
      const typed = declared.get(table);
      if (!typed) continue;
      for (const name of dbColumns.keys()) if (!typed.has(name)) problems.push(`${table}.${name}: in the database, not in schema.ts`);
      for (const name of typed.keys()) if (!dbColumns.has(name)) problems.push(`${table}.${name}: in schema.ts, not in the database`);
      for (const [name, column] of dbColumns) {
        const declaredColumn = typed.get(name);
        if (!declaredColumn) continue;
        const kind = kindOfPostgres(column.data_type);
        if (kind === 'other' || declaredColumn.kind === 'other')
          problems.push(`${table}.${name}: unmapped type (database ${column.data_type}, schema.ts ${declaredColumn.type})`);
        else if (kind !== declaredColumn.kind)
          problems.push(`${table}.${name}: database ${column.data_type}, schema.ts ${declaredColumn.type}`);
        const dbNullable = column.is_nullable === 'YES';
        if (dbNullable !== declaredColumn.nullable)
          problems.push(`${table}.${name}: ${dbNullable ? 'nullable' : 'not null'} in the database, schema.ts says ${declaredColumn.type}`);
        // Generated<> promises the database fills the value in.
        const hasDefault = column.column_default !== null || column.is_identity === 'YES';
        if (declaredColumn.generated && !hasDefault)
          problems.push(`${table}.${name}: Generated<> in schema.ts, but the database has no default`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("tables.ts's evidence columns exist with the declared Postgres types", () => {
    const problems: string[] = [];
    for (const spec of allEvidenceTables) {
      const dbColumns = columns.get(spec.name);
      if (!dbColumns) {
        problems.push(`${spec.name}: in tables.ts, not in the database`);
        continue;
      }
      const managed =
        spec.kind === 'event'
          ? [
              'source_id',
              'upstream_id',
              'occurred_at',
              'raw',
              ...(spec.packed ? ['raw_packed'] : []),
              'record_sha256',
              'batch_id',
              'revision',
            ]
          : ['source_id', 'upstream_id', 'observed_at', 'present', 'raw', 'record_sha256', 'batch_id'];
      for (const name of managed) if (!dbColumns.has(name)) problems.push(`${spec.name}.${name}: managed column missing`);
      for (const column of spec.columns) {
        const db = dbColumns.get(column.name);
        if (!db) problems.push(`${spec.name}.${column.name}: in tables.ts, not in the database`);
        else if (!specType[column.type](db))
          problems.push(`${spec.name}.${column.name}: tables.ts ${column.type}, database ${db.data_type} (${db.udt_name})`);
      }
      // A normalised column the writer does not know would stay NULL forever: every
      // non-managed column of an evidence table must be in tables.ts.
      const known = new Set([...managed, ...spec.columns.map((c) => c.name), 'first_collected_at', 'last_collected_at', 'snapshot_id']);
      for (const name of dbColumns.keys()) if (!known.has(name)) problems.push(`${spec.name}.${name}: in the database, not in tables.ts`);
    }
    expect(problems).toEqual([]);
  });
});
