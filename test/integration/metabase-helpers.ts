// Shared by the Metabase integration tests: app databases on the local Postgres and
// MariaDB, and a CollectContext over a test store.
import { randomBytes } from 'node:crypto';

import mysql from 'mysql2/promise';

import { type CollectContext, silentProgress } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import type { TestStore } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';

export const MARIADB_URL = process.env['TEST_MARIADB_URL'] ?? 'mysql://root@127.0.0.1:3306';

export interface AppDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createAppDatabase(engine: 'postgres' | 'mysql'): Promise<AppDatabase> {
  if (engine === 'postgres') return createTestDatabase('mb_app');
  const name = `mb_app_${randomBytes(5).toString('hex')}`;
  return {
    url: `${MARIADB_URL}/${name}`,
    async drop() {
      const connection = await mysql.createConnection(MARIADB_URL);
      await connection.query(`drop database if exists \`${name}\``);
      await connection.end();
    },
  };
}

export async function makeContext(store: TestStore, env: Record<string, string>, now: Date): Promise<CollectContext> {
  const collection = createCollectionRepository(store.db);
  const runId = await collection.startRun('collect', { test: true });
  return {
    store,
    evidence: createEvidenceRepository(store.db),
    collection,
    config: parseConfig(env),
    logger: createLogger({ level: 'silent' }),
    runId,
    progress: silentProgress,
    now: () => now,
  };
}
