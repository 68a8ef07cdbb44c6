// Findings of the latest successful correlation run. A page is made in Postgres as the
// JSON it is served as (FINDING_JSON in src/correlation/finding-json.ts, stored with each
// finding since migration 0017), kept by run and query, and sent with a strong ETag
// (served-bodies.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { findingSubjectOf } from '../../correlation/reuse.js';
import { bearerRoute } from '../auth.js';
import { decodeCursor, page, pageQuery, pageShape } from '../pagination.js';
import type { ReadRepository } from '../read.repository.js';
import { sendServed, type ServedBody, servedBody, servedBodyCache } from '../served-bodies.js';
import { instant, iso, type RouteOptions, toDate } from './context.js';

export const evidenceRef = z.object({ source: z.string(), id: z.string(), at: z.string().nullable() });

export const findingSchema = z.object({
  id: z.string(),
  rule: z.string(),
  severity: z.enum(['high', 'medium', 'low']),
  subject: z.object({
    personId: z.string().nullable(),
    upn: z.string().nullable(),
    metabaseAccountId: z.string().nullable(),
    email: z.string().nullable(),
    credentialId: z.string().nullable(),
    source: z.string().nullable(),
  }),
  summary: z.string(),
  firstSeen: z.string().nullable(),
  lastSeen: z.string().nullable(),
  evidence: z.array(evidenceRef),
});

/** A finding as the read repository lists it. */
type FindingRow = Awaited<ReturnType<ReadRepository['listFindings']>>[number];

export function toFinding(row: FindingRow): z.infer<typeof findingSchema> {
  const evidence = Array.isArray(row.evidence) ? (row.evidence as { source?: unknown; id?: unknown; at?: unknown }[]) : [];
  return {
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    subject: findingSubjectOf(row),
    summary: row.summary,
    firstSeen: iso(row.first_seen),
    lastSeen: iso(row.last_seen),
    evidence: evidence.map((ref) => ({
      source: String(ref.source ?? ''),
      id: String(ref.id ?? ''),
      at: typeof ref.at === 'string' ? iso(ref.at) : null,
    })),
  };
}

/** Bytes of finding pages kept in memory (a page of 100 findings is ~130 KB). */
const PAGE_CACHE_BYTES = 32 * 1024 * 1024;

export const findingRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  const { auth, reads } = context;
  // Pages as served, by run and query: the latest run's id is read on every request, so
  // a new run is served at once, and an old run's pages fall out as they go unused.
  const pages = servedBodyCache<ServedBody>(PAGE_CACHE_BYTES);

  app.get(
    '/findings',
    bearerRoute(auth, 'findings:read', {
      tags: ['findings'],
      summary: 'findings of the latest successful correlation run, by id',
      description: 'from/to filter on lastSeen, as [from, to).',
      querystring: z
        .strictObject({
          rule: z
            .string()
            .regex(/^[a-z][a-z-]*$/, 'must be a rule id such as sso-bypass')
            .optional(),
          severity: z.enum(['high', 'medium', 'low']).optional(),
          person: z.string().min(1).max(200).optional().describe('Entra object id of the person'),
          from: instant.optional(),
          to: instant.optional(),
          ...pageQuery,
        })
        .refine((query) => !(query.from && query.to) || toDate(query.from).getTime() < toDate(query.to).getTime(), {
          path: ['to'],
          message: 'must be later than from',
        }),
      response: {
        200: z.object({ correlationRunId: z.number().nullable(), items: z.array(findingSchema), ...pageShape }),
      },
    }),
    async (request, reply) => {
      const query = request.query;
      const after = query.cursor ? (decodeCursor(query.cursor, ['string'])[0] as string) : undefined;
      const runId = await reads.latestCorrelationRunId();
      if (runId === undefined) return { correlationRunId: null, items: [], nextCursor: null };
      const filter = {
        rule: query.rule,
        severity: query.severity,
        personId: query.person,
        from: query.from ? toDate(query.from) : undefined,
        to: query.to ? toDate(query.to) : undefined,
      };
      // Everything the page depends on: a succeeded run's findings never change.
      const key = JSON.stringify([
        runId,
        filter.rule ?? null,
        filter.severity ?? null,
        filter.personId ?? null,
        filter.from?.getTime() ?? null,
        filter.to?.getTime() ?? null,
        query.limit,
        after ?? null,
      ]);
      let served = pages.get(key);
      if (!served) {
        const rows = await reads.listFindingsJson(runId, filter, query.limit + 1, after);
        const result = page(rows, query.limit, (row) => [row.id]);
        // The response schema's fields in its order; each item is FINDING_JSON's text.
        served = servedBody(
          `{"correlationRunId":${runId},"items":[${result.items.map((row) => row.json).join(',')}],"nextCursor":${JSON.stringify(result.nextCursor)}}`,
        );
        pages.set(key, served);
      }
      return sendServed(request, reply, served);
    },
  );
};
