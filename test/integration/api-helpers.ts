// Shared setup of the API tests: a real store, a config in a temporary data folder,
// and a logger whose output the test can read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { type ApiScope, createApiKeyRepository } from '../../src/api/api-keys.js';
import { type ApiApp, buildApp } from '../../src/api/app.js';
import { type Config, parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { openTestStore, type TestStore } from '../support/database.js';

export interface ApiFixture {
  store: TestStore;
  config: Config;
  app: ApiApp;
  dataDir: string;
  /** Everything the logger wrote so far. */
  logText(): string;
  key(scopes: ApiScope[], name?: string): Promise<string>;
  close(): Promise<void>;
}

export async function openApiFixture(options: { env?: Record<string, string>; now?: () => Date } = {}): Promise<ApiFixture> {
  const store = await openTestStore('postgres');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-api-'));
  const config = parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, ...options.env }, dataDir);
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', destination });
  const app = await buildApp({ store, config, logger, ...(options.now ? { now: options.now } : {}) });
  const keys = createApiKeyRepository(store.db);
  return {
    store,
    config,
    app,
    dataDir,
    logText: () => chunks.join(''),
    key: async (scopes, name = 'test') => (await keys.create({ name, scopes })).key,
    async close() {
      await app.close();
      await store.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(key: string): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}
