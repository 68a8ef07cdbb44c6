// The HTTP API as a function: builds the Fastify instance around a store, and never
// listens by itself (`accesstrail serve` does; tests use app.inject).
import { randomUUID } from 'node:crypto';

import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';

import type { Config } from '../config.js';
import { createServiceMetrics, type ServiceMetrics } from '../jobs/metrics.js';
import type { JobSystem } from '../jobs/system.js';
import type { Logger } from '../logger.js';
import { type ChangeFeed, openChangeFeed } from '../store/change-feed.js';
import type { Store } from '../store/database.js';
import { readFreshness } from '../store/freshness.repository.js';
import { createApiKeyRepository } from './api-keys.js';
import { createAuth } from './auth.js';
import { type CollectionRunner, createCollectionRunner } from './collection-runner.js';
import { frameworkError, installErrorHandling } from './http-errors.js';
import { installInputGuard } from './input-guard.js';
import { createReadRepository } from './read.repository.js';
import { collectionRoutes } from './routes/collections.routes.js';
import type { RouteContext } from './routes/context.js';
import { coverageRoutes } from './routes/coverage.routes.js';
import { findingRoutes } from './routes/findings.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { peopleRoutes } from './routes/people.routes.js';
import { reportRoutes } from './routes/reports.routes.js';

export interface ApiDependencies {
  /** The migrated store (collections started over HTTP need the whole store, not only db). */
  store: Store;
  config: Config;
  logger: Logger;
  /** Clock (tests pin it). */
  now?: () => Date;
  /** The durable job queue (`serve`): API-started collections correlate through it, /metrics shows its depth. */
  jobs?: JobSystem;
  /** Shared with the job queue, so /metrics counts scheduled collections too. */
  metrics?: ServiceMetrics;
  /** A CA to trust for Entra's keys and sign-in (the emulator's); else the system's. */
  tlsCa?: string;
}

export type ApiApp = FastifyInstance & {
  collections: CollectionRunner;
  metrics: ServiceMetrics;
  /** What the routes share; the web console (src/console/web-app.ts) mounts on it. */
  routeContext: RouteContext;
  /** What the service keeps of the store in memory; `sync()` waits until it has seen every committed change. */
  changes: ChangeFeed;
};

export const API_VERSION = '1.0.0';

/** Query parameters whose values are credentials: the console's sign-in callback carries
 *  Entra's authorization `code` (and `state`) in its URL (response_mode=query). */
const SECRET_QUERY_PARAMETERS = new Set([
  'code',
  'state',
  'session_state',
  'id_token',
  'access_token',
  'refresh_token',
  'token',
  'client_secret',
  'key',
  'api_key',
  'password',
]);

/** A request's URL as logged: the value of every credential-bearing query parameter
 *  replaced by [redacted] (the logger's redaction works on field names, not inside a URL). */
export function loggedUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark < 0) return url;
  const parts = url
    .slice(mark + 1)
    .split('&')
    .map((part) => {
      const equals = part.indexOf('=');
      const name = equals < 0 ? part : part.slice(0, equals);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        // A malformed escape: judged by its raw name.
      }
      return equals >= 0 && SECRET_QUERY_PARAMETERS.has(decoded.toLowerCase()) ? `${name}=[redacted]` : part;
    });
  return `${url.slice(0, mark)}?${parts.join('&')}`;
}

/** One log line per request, when it completes, with what Fastify's "incoming request"
 *  line said (method, URL without credentials, client address); the incoming line moves
 *  to debug. The two lines were a fifth of the API's CPU at 3,700 requests/s (docs/scale.md,
 *  "The API").
 *
 *  The completed line is written by a child of the service's logger without its
 *  redaction: pino's path redaction cost 15 µs of the line's 18 (measured beside the same
 *  line unredacted, docs/scale.md "The API"), and every field of the line is built here from values that
 *  cannot hold a secret (the method, the URL through loggedUrl, the client address, the
 *  status, the time). Errors, whose objects can hold anything, go through the redacting
 *  request logger as before. */
class OneLinePerRequest extends LogController {
  constructor(private readonly accessLog: FastifyBaseLogger) {
    super();
  }
  private static req(request: FastifyRequest) {
    // The shape Fastify's `req` log serializer gives (it logs `ip` as remoteAddress).
    return { method: request.method, url: loggedUrl(request.url), remoteAddress: request.ip };
  }
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: OneLinePerRequest.req(request) }, 'incoming request');
  }
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const req = OneLinePerRequest.req(request);
    if (error) reply.log.error({ req, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else
      this.accessLog.info(
        { reqId: request.id, req, res: { statusCode: reply.statusCode }, responseTime: reply.elapsedTime },
        'request completed',
      );
  }
}

export async function buildApp(deps: ApiDependencies): Promise<ApiApp> {
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger.child({ component: 'api' }) as FastifyBaseLogger;
  const app = Fastify({
    loggerInstance: logger,
    genReqId: () => randomUUID(),
    // Request ids are ours; a client-sent header must not forge log correlation.
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    frameworkErrors: frameworkError,
    logController: new OneLinePerRequest(logger.child({}, { redact: [] })),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  // Before any route: every route gets the shared input rules and enters the route table.
  installInputGuard(app);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // Key lookups, the latest run and reports' hashes kept in memory until the store says
  // they changed (Postgres only; the embedded store reads each time).
  const changes = await openChangeFeed(deps.store, deps.logger);
  app.addHook('onClose', () => changes.close());
  const keys = createApiKeyRepository(deps.store.db, changes);
  if (deps.config.ACCESSTRAIL_API_KEYS_BOOTSTRAP) {
    if (await keys.ensureBootstrap(deps.config.ACCESSTRAIL_API_KEYS_BOOTSTRAP))
      app.log.info('created the bootstrap admin API key (ACCESSTRAIL_API_KEYS_BOOTSTRAP)');
  }
  const metrics = deps.metrics ?? createServiceMetrics();
  metrics.setSources(async () => ({
    freshness: await readFreshness(deps.store.db, { now: now(), entraRetentionDays: deps.config.ENTRA_LOG_RETENTION_DAYS }),
    queues: deps.jobs ? await deps.jobs.queueDepths() : {},
  }));
  app.addHook('onResponse', async (request, reply) => {
    // Route patterns, never raw URLs (a query string could carry anything).
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const jobs = deps.jobs;
  const collections = createCollectionRunner({
    store: deps.store,
    config: deps.config,
    logger: deps.logger,
    now,
    observer: metrics,
    ...(jobs ? { afterRun: () => jobs.afterCollection() } : {}),
  });
  app.addHook('onClose', async () => {
    await collections.close();
    if (!deps.metrics) metrics.close();
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'accesstrail API',
        version: API_VERSION,
        description:
          'Reports, findings, identity links, collection runs and coverage of an accesstrail store. Authenticate with `Authorization: Bearer <api key>`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an accesstrail API key (at_…)' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const context: RouteContext = {
    config: deps.config,
    store: deps.store,
    logger: deps.logger,
    now,
    auth: createAuth(keys, now, { config: deps.config, ...(deps.tlsCa ? { tlsCa: deps.tlsCa } : {}) }),
    reads: createReadRepository(deps.store.db, changes),
    collections,
  };
  const typed = app.withTypeProvider<ZodTypeProvider>();
  await typed.register(healthRoutes, { context });
  await typed.register(reportRoutes, { context, prefix: '/v1' });
  await typed.register(findingRoutes, { context, prefix: '/v1' });
  await typed.register(peopleRoutes, { context, prefix: '/v1' });
  await typed.register(collectionRoutes, { context, prefix: '/v1' });
  await typed.register(coverageRoutes, { context, prefix: '/v1' });

  // Prometheus text, without an API key like /healthz and /readyz (scrapers rarely carry
  // one): it holds counts, timestamps, source ids and stream names, never a secret or a
  // person. Restrict it at the network (HOST, a proxy) where that is too much.
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return Object.assign(app, { collections, metrics, routeContext: context, changes }) as unknown as ApiApp;
}
