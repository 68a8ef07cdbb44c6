// Per source and stream: the merged windows that were collected completely and the
// gaps in the last 90 days. A gap is time for which the store cannot say that nothing
// happened.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { loadInventory } from '../../correlation/inventory.js';
import { readActiveArchives } from '../../store/archive.js';
import { gapsIn } from '../../store/collection.repository.js';
import { readFreshness } from '../../store/freshness.repository.js';
import { tableOfStream } from '../../store/streams.js';
import { bearerRoute } from '../auth.js';
import type { RouteOptions } from './context.js';

const GAP_WINDOW_DAYS = 90;
const range = z.object({ from: z.string(), to: z.string() });

export const coverageRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  const { auth } = context;

  app.get(
    '/coverage',
    bearerRoute(auth, 'reports:read', {
      tags: ['coverage'],
      summary: `per source and stream: merged coverage windows and the gaps in the last ${GAP_WINDOW_DAYS} days`,
      response: {
        200: z.object({
          asOf: z.string(),
          gapWindow: range,
          sources: z.array(
            z.object({
              sourceId: z.string(),
              kind: z.enum(['entra', 'metabase']),
              streams: z.array(
                z.object({
                  stream: z.string(),
                  coverage: z.array(range),
                  gaps: z.array(range),
                  freshness: z
                    .object({
                      lastCoveredTo: z.string(),
                      retentionDays: z.number().nullable(),
                      expiresAt: z.string().nullable().describe('when the upstream starts deleting events not yet archived'),
                      daysLeft: z.number().nullable(),
                      status: z.enum(['fresh', 'expiring', 'lost']),
                    })
                    .nullable(),
                  archived: z
                    .array(
                      range.extend({
                        rows: z.number(),
                        file: z.string(),
                        sha256: z.string(),
                      }),
                    )
                    .describe(
                      "months whose rows of this source were archived out of the store (ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS): not in `coverage`; the file's name and SHA-256 from its manifest",
                    ),
                }),
              ),
            }),
          ),
        }),
      },
    }),
    async () => {
      const db = context.store.db;
      const asOf = context.now();
      const inventory = await loadInventory(db, {
        metabaseAppIds: [...context.config.ENTRA_METABASE_APP_IDS],
        adminGroupIds: [...context.config.ENTRA_ADMIN_GROUP_IDS],
      });
      const streams = await context.reads.coveredStreams();
      const freshness = await readFreshness(db, { now: asOf, entraRetentionDays: context.config.ENTRA_LOG_RETENTION_DAYS });
      const archives = await readActiveArchives(db);
      const window = { from: new Date(asOf.getTime() - GAP_WINDOW_DAYS * 86_400_000), to: asOf };
      const text = (r: { from: Date; to: Date }) => ({ from: r.from.toISOString(), to: r.to.toISOString() });
      const sources = [
        ...inventory.entraSourceIds.map((id) => ({ id, kind: 'entra' as const })),
        ...inventory.metabaseSourceIds.map((id) => ({ id, kind: 'metabase' as const })),
      ].sort((a, b) => a.id.localeCompare(b.id));
      return {
        asOf: asOf.toISOString(),
        gapWindow: text(window),
        sources: sources.map((source) => ({
          sourceId: source.id,
          kind: source.kind,
          streams: streams
            .filter((row) => row.source_id === source.id)
            .map((row) => {
              const coverage = inventory.coverage(source.id, row.stream);
              const f = freshness.find((item) => item.sourceId === source.id && item.stream === row.stream);
              return {
                stream: row.stream,
                coverage: coverage.map(text),
                gaps: gapsIn(window, coverage).map(text),
                freshness: f
                  ? {
                      lastCoveredTo: f.lastCoveredTo.toISOString(),
                      retentionDays: f.retentionDays,
                      expiresAt: f.expiresAt?.toISOString() ?? null,
                      daysLeft: f.daysLeft,
                      status: f.status,
                    }
                  : null,
                archived: archives
                  .filter((a) => a.table === tableOfStream(row.stream) && (a.sources[source.id] ?? 0) > 0)
                  .map((a) => ({ ...text(a), rows: a.sources[source.id]!, file: a.fileName, sha256: a.sha256 })),
              };
            }),
        })),
      };
    },
  );
};
