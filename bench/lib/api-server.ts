// The HTTP server under test of bench/api.ts, in a process of its own (as `accesstrail
// serve` runs), so the load generator does not share its event loop:
//
//   node --import tsx bench/lib/api-server.ts app          the web service `serve` builds
//                                                         (API and console), on DATABASE_URL
//   node --import tsx bench/lib/api-server.ts bare FILE    a bare Fastify answering the bodies
//                                                         in FILE ({ path: body }) as they are
//
// It prints `LISTENING <port>` on stdout once it listens, and `PEAK-RSS <MB>` when SIGTERM
// has closed it. The service logs as `serve` does (JSON on stderr at
// ACCESSTRAIL_LOG_LEVEL, default info): the caller sends stderr to a file.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

import Fastify, { type FastifyInstance } from 'fastify';

import { parseConfig } from '../../src/config.js';
import { buildWebApp } from '../../src/console/web-app.js';
import { createLogger } from '../../src/logger.js';
import { openStore, type Store } from '../../src/store/database.js';

/** A bare route per path, answering its body as it is (gzipped, made once, when the
 *  request names gzip), with an ETag (304 on a match): what HTTP, the loop and the bytes
 *  cost with no service behind them. */
function bareApp(bodies: Record<string, string>): FastifyInstance {
  const app = Fastify({ logger: false });
  const byPath = new Map(
    Object.entries(bodies).map(([url, body]) => [
      url,
      { body, gzip: gzipSync(Buffer.from(body, 'utf8')), etag: `"${createHash('sha256').update(body).digest('hex')}"` },
    ]),
  );
  app.get('/*', async (request, reply) => {
    const entry = byPath.get(request.url);
    if (!entry) return reply.status(404).send();
    reply.header('etag', entry.etag);
    if (request.headers['if-none-match'] === entry.etag) return reply.status(304).send();
    reply.type('application/json; charset=utf-8');
    if (request.headers['accept-encoding']?.includes('gzip')) return reply.header('content-encoding', 'gzip').send(entry.gzip);
    return reply.send(entry.body);
  });
  return app;
}

const [mode, file] = process.argv.slice(2);
let store: Store | undefined;
let app: FastifyInstance;
if (mode === 'bare') {
  if (!file) throw new Error('usage: api-server.ts bare BODIES.json');
  app = bareApp(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>);
} else if (mode === 'app') {
  const config = parseConfig(process.env);
  const logger = createLogger({ level: config.ACCESSTRAIL_LOG_LEVEL, format: 'json' });
  store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir });
  app = await buildWebApp({ store, config, logger });
} else {
  throw new Error('usage: api-server.ts app | bare BODIES.json');
}
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : 0}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    await app.close();
    await store?.close();
    process.stdout.write(`PEAK-RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)}\n`);
    process.exit(0);
  })();
});
