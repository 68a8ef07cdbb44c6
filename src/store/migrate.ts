// Forward-only migrations: migrations/NNNN_name.sql, applied in order inside one
// transaction under an advisory lock, so two processes starting at once cannot both
// apply them (the second waits, then finds nothing to do). An applied file that was
// edited afterwards is refused: its checksum no longer matches.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Kysely, sql } from 'kysely';

import { AppError } from '../errors.js';
import type { Database } from './schema.js';

export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

// Any constant works; this one spells "accesstrail migrate" in spirit.
const MIGRATION_LOCK_KEY = 7_305_145_001;

export interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationOutcome {
  applied: string[];
  current: number;
}

export function readMigrationFiles(dir: string = migrationsDir): MigrationFile[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const text = readFileSync(path.join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    });
}

export async function migrateToLatest(db: Kysely<Database>, dir?: string): Promise<MigrationOutcome> {
  const files = readMigrationFiles(dir);
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(trx);
    await sql`create table if not exists schema_migration (
      version integer primary key,
      name text not null,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`.execute(trx);
    const { rows } = await sql<{ version: number; name: string; checksum: string }>`
      select version, name, checksum from schema_migration order by version`.execute(trx);
    const applied = new Map(rows.map((row) => [row.version, row]));
    for (const row of rows) {
      const file = files.find((candidate) => candidate.version === row.version);
      if (file && file.checksum !== row.checksum) {
        throw new AppError('STORE_TAMPERED', `migration ${row.name} was changed after it was applied; add a new migration instead`);
      }
    }
    const newlyApplied: string[] = [];
    for (const file of files) {
      if (applied.has(file.version)) continue;
      await sql.raw(file.sql).execute(trx);
      await sql`insert into schema_migration (version, name, checksum) values (${file.version}, ${file.name}, ${file.checksum})`.execute(
        trx,
      );
      newlyApplied.push(file.name);
    }
    const current = Math.max(0, ...applied.keys(), ...files.filter((file) => newlyApplied.includes(file.name)).map((file) => file.version));
    return { applied: newlyApplied, current };
  });
}
