// A Metabase application database in an embedded PGlite, served over the Postgres wire
// protocol on 127.0.0.1, so the demo (and anyone without a Postgres server) can point
// METABASE_DB_URL at it and the collector reads it through `pg` unchanged.
import { PGlite } from '@electric-sql/pglite';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

import { createMetabaseAppDatabase } from './app-database.js';
import type { MetabaseDataset } from './dataset.js';
import type { MetabaseVersion } from './schema.js';

export interface EmbeddedMetabaseDatabase {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  close(): Promise<void>;
}

export async function startEmbeddedMetabaseDatabase(options: {
  version: MetabaseVersion;
  dataset: MetabaseDataset;
  port?: number;
}): Promise<EmbeddedMetabaseDatabase> {
  const db = await PGlite.create({ extensions: { citext } });
  // One PGlite session serves every connection; the socket server keeps a transaction's
  // statements together, so a few concurrent clients are safe.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: options.port ?? 0, maxConnections: 8 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres`;
  try {
    await createMetabaseAppDatabase({ url, version: options.version, dataset: options.dataset });
  } catch (error) {
    await server.stop();
    await db.close();
    throw error;
  }
  return {
    url,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
