// Collection runs: start one (it runs in the background) and follow it.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { AppError } from '../../errors.js';
import { bearerRoute } from '../auth.js';
import { errorBody } from '../http-errors.js';
import { instant, iso, type RouteOptions, toDate } from './context.js';

export const collectionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  const { auth, reads, collections } = context;

  app.post(
    '/collections',
    bearerRoute(auth, 'collect:run', {
      tags: ['collections'],
      summary: 'start a collection run; it continues in the background',
      body: z
        .strictObject({
          source: z.enum(['entra', 'metabase', 'all']).default('all'),
          since: instant.optional().describe('first run: collect from this instant (else the retention window)'),
          until: instant.optional().describe('collect up to this instant (default now)'),
        })
        .refine((body) => !(body.since && body.until) || toDate(body.since).getTime() < toDate(body.until).getTime(), {
          path: ['until'],
          message: 'must be later than since',
        }),
      response: {
        202: z.object({ id: z.number(), status: z.literal('running'), location: z.string() }),
        409: errorBody,
      },
    }),
    async (request, reply) => {
      const body = request.body;
      const id = await collections.start({
        source: body.source,
        ...(body.since ? { since: toDate(body.since) } : {}),
        ...(body.until ? { until: toDate(body.until) } : {}),
        requestedBy: request.apiKey ? `api-key:${request.apiKey.id}` : 'api',
      });
      const location = `/v1/collections/${id}`;
      reply.status(202).header('location', location);
      return { id, status: 'running' as const, location };
    },
  );

  app.get(
    '/collections/:id',
    bearerRoute(auth, 'collect:run', {
      tags: ['collections'],
      summary: "a collection run's status, summary and error",
      params: z.object({ id: z.coerce.number().int().positive() }),
      response: {
        200: z.object({
          id: z.number(),
          kind: z.string(),
          status: z.enum(['running', 'succeeded', 'partial', 'failed']),
          requested: z.record(z.string(), z.unknown()),
          startedAt: z.string(),
          finishedAt: z.string().nullable(),
          summary: z.record(z.string(), z.unknown()),
          error: z.string().nullable(),
        }),
      },
    }),
    async (request) => {
      const run = await reads.collectionRun(request.params.id);
      if (!run) throw new AppError('NOT_FOUND', `no collection run with id ${request.params.id}`);
      return {
        id: run.id,
        kind: run.kind,
        status: run.status,
        requested: (run.requested ?? {}) as Record<string, unknown>,
        startedAt: iso(run.started_at) as string,
        finishedAt: iso(run.finished_at),
        summary: (run.summary ?? {}) as Record<string, unknown>,
        error: run.error,
      };
    },
  );
};
