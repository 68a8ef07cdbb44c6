// Liveness and readiness, without authentication (load balancers and orchestrators).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { pingStore } from '../../store/database.js';
import { describeFreshness, readFreshness } from '../../store/freshness.repository.js';
import { errorBody } from '../http-errors.js';
import type { RouteOptions } from './context.js';

export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'the process is up', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'the store answers; warnings name archived streams close to (or past) the upstream retention',
        response: {
          200: z.object({
            status: z.literal('ready'),
            engine: z.enum(['postgres', 'pglite']),
            detail: z.object({
              warnings: z.array(
                z.object({
                  sourceId: z.string(),
                  stream: z.string(),
                  status: z.enum(['expiring', 'lost']),
                  expiresAt: z.string().nullable(),
                  daysLeft: z.number().nullable(),
                  message: z.string(),
                }),
              ),
            }),
          }),
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      try {
        await pingStore(context.store.db);
      } catch (error) {
        request.log.warn({ err: error }, 'store not ready');
        return reply
          .status(503)
          .send({ error: { code: 'STORE_UNAVAILABLE', message: 'the store does not answer', requestId: String(request.id) } });
      }
      // Readiness stays 200: the service works; the archive needs attention (a collection).
      const freshness = await readFreshness(context.store.db, {
        now: context.now(),
        entraRetentionDays: context.config.ENTRA_LOG_RETENTION_DAYS,
      });
      const warnings = freshness
        .filter((f) => f.status !== 'fresh')
        .map((f) => ({
          sourceId: f.sourceId,
          stream: f.stream,
          status: f.status as 'expiring' | 'lost',
          expiresAt: f.expiresAt?.toISOString() ?? null,
          daysLeft: f.daysLeft,
          message: describeFreshness(f),
        }));
      return { status: 'ready' as const, engine: context.store.engine, detail: { warnings } };
    },
  );
};
