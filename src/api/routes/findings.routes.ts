// Findings of the latest successful correlation run.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { bearerSecurity } from '../auth.js';
import { errorResponses } from '../http-errors.js';
import { decodeCursor, page, pageQuery, pageShape } from '../pagination.js';
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

type FindingRow = {
  id: string;
  rule: string;
  severity: 'high' | 'medium' | 'low';
  person_id: string | null;
  upn: string | null;
  account_id: string | null;
  email: string | null;
  credential_id: string | null;
  subject_source: string | null;
  summary: string;
  first_seen: Date | string | null;
  last_seen: Date | string | null;
  evidence: unknown;
};

export function toFinding(row: FindingRow): z.infer<typeof findingSchema> {
  const evidence = Array.isArray(row.evidence) ? (row.evidence as { source?: unknown; id?: unknown; at?: unknown }[]) : [];
  return {
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    subject: {
      personId: row.person_id,
      upn: row.upn,
      metabaseAccountId: row.account_id,
      email: row.email,
      credentialId: row.credential_id,
      source: row.subject_source,
    },
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

export const findingRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  const { auth, reads } = context;

  app.get(
    '/findings',
    {
      onRequest: auth.requireScope('findings:read'),
      schema: {
        tags: ['findings'],
        summary: 'findings of the latest successful correlation run, by id',
        description: 'from/to filter on lastSeen, as [from, to).',
        security: bearerSecurity,
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
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const query = request.query;
      const after = query.cursor ? (decodeCursor(query.cursor, ['string'])[0] as string) : undefined;
      const runId = await reads.latestCorrelationRunId();
      if (runId === undefined) return { correlationRunId: null, items: [], nextCursor: null };
      const rows = await reads.listFindings(
        runId,
        {
          rule: query.rule,
          severity: query.severity,
          personId: query.person,
          from: query.from ? toDate(query.from) : undefined,
          to: query.to ? toDate(query.to) : undefined,
        },
        query.limit + 1,
        after,
      );
      const result = page(rows, query.limit, (row) => [row.id]);
      return { correlationRunId: runId, items: result.items.map(toFinding), nextCursor: result.nextCursor };
    },
  );
};
