// Liveness and readiness, without authentication (load balancers and orchestrators).
import { sql } from 'kysely';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
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
        summary: 'the store answers',
        response: { 200: z.object({ status: z.literal('ready'), engine: z.enum(['postgres', 'pglite']) }), 503: errorBody },
      },
    },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(context.store.db);
      } catch (error) {
        request.log.warn({ err: error }, 'store not ready');
        return reply.status(503).send({ error: { code: 'STORE_UNAVAILABLE', message: 'the store does not answer', requestId: String(request.id) } });
      }
      return { status: 'ready' as const, engine: context.store.engine };
    },
  );
};
