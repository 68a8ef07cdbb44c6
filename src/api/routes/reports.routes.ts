// Stored reports: list, build, fetch (JSON, PDF, CSV, OSCAL) and verify. Every
// rendering is made from the stored signed model, so the PDF an auditor downloads says
// exactly what the JSON says, and carries the same content hash.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { defaultCatalogueDir } from '../../correlation/rule-catalogue.js';
import { AppError } from '../../errors.js';
import { canonicalReportJson } from '../../reports/canonical-json.js';
import type { ReportModel } from '../../reports/model.js';
import { parseQuarter, QUARTER_PATTERN } from '../../reports/period.js';
import { renderCsvFiles } from '../../reports/render/csv.js';
import { reportBaseName } from '../../reports/render/naming.js';
import { renderOscal } from '../../reports/render/oscal.js';
import { renderPdf } from '../../reports/render/pdf/index.js';
import { createReport } from '../../reports/service.js';
import { loadTrustedPublicKeys, sha256Hex, verifySignedModel } from '../../reports/signing.js';
import { bearerRoute } from '../auth.js';
import { decodeCursor, page, pageQuery, pageShape } from '../pagination.js';
import { etagOf, sendNotModified, sendServed, type ServedBody, servedBodyCache, servedBytes } from '../served-bodies.js';
import { instant, isoRequired, type RouteOptions, sendRaw, toDate } from './context.js';

let cachedSchema: Record<string, unknown> | undefined;
function reportJsonSchema(): Record<string, unknown> {
  cachedSchema ??= JSON.parse(readFileSync(path.resolve(defaultCatalogueDir(), '..', 'report.schema.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return cachedSchema;
}

const reportSummary = z.object({
  id: z.string(),
  framework: z.string(),
  period: z.object({ from: z.string(), to: z.string() }),
  asOf: z.string(),
  generatedAt: z.string(),
  provisional: z.boolean(),
  contentSha256: z.string(),
});

// The signed document is returned whole: dropping or reordering any field would break
// its signature, so this schema names the contract's top-level fields and lets the rest
// of the signed content through unchanged.
const reportDocument = z
  .looseObject({
    schemaVersion: z.string(),
    framework: z.enum(['soc2', 'iso27001']),
    period: z.object({ from: z.string(), to: z.string() }),
    asOf: z.string(),
    generatedAt: z.string(),
    provisional: z.boolean(),
    sources: z.array(z.unknown()),
    controls: z.array(z.unknown()),
    rules: z.array(z.unknown()),
    findings: z.array(z.unknown()),
    populations: z.unknown(),
    integrity: z.object({ contentSha256: z.string(), signature: z.object({ alg: z.string(), keyId: z.string(), value: z.string() }) }),
  })
  .describe('the signed report JSON (see the report JSON contract)');

const createReportBody = z
  .strictObject({
    framework: z.enum(['soc2', 'iso27001']),
    period: z.string().regex(QUARTER_PATTERN, 'must look like 2026-Q3').optional(),
    from: instant.optional(),
    to: instant.optional(),
    formats: z
      .array(z.enum(['json', 'pdf', 'csv', 'oscal']))
      .min(1)
      .optional()
      .describe('artefacts written to the data folder besides the stored report (default json)'),
  })
  .superRefine((body, ctx) => {
    if (body.period !== undefined && (body.from !== undefined || body.to !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['period'], message: 'give either period or from and to, not both' });
    } else if (body.period === undefined) {
      if (body.from === undefined) ctx.addIssue({ code: 'custom', path: ['from'], message: 'is required when period is not given' });
      if (body.to === undefined) ctx.addIssue({ code: 'custom', path: ['to'], message: 'is required when period is not given' });
      if (body.from !== undefined && body.to !== undefined && toDate(body.from).getTime() >= toDate(body.to).getTime()) {
        ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
      }
    }
  });

/** At most this many bytes of served report bodies are kept in memory (a 20,000-account
 *  report is ~20 MB; a body over a quarter of it is not kept). */
const SERVED_CACHE_BYTES = 64 * 1024 * 1024;

const idParams = z.object({ id: z.string().min(1).max(200) });

type Rendering = 'json' | 'pdf' | 'csv' | 'oscal';

function renderingOf(format: Rendering | undefined, accept: string | undefined): Rendering {
  if (format) return format;
  const wanted = (accept ?? '').toLowerCase();
  if (wanted.includes('application/pdf')) return 'pdf';
  if (wanted.includes('text/csv')) return 'csv';
  return 'json';
}

export const reportRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  const { auth, reads } = context;

  async function loadModel(id: string): Promise<{ model: ReportModel; storedSha256: string }> {
    const stored = await reads.reportContent(id);
    if (!stored) throw new AppError('NOT_FOUND', `no report with id ${id}`);
    return { model: stored.content as ReportModel, storedSha256: stored.contentSha256 };
  }

  // Served bodies kept in memory by report id, each with the tag of the hash it was
  // stored with: a report row never changes, so a body whose row still names the same
  // hash is the stored bytes; every request looks up the row's hash (kept in memory by
  // the change feed until a statement on `report` commits, migration 0016), so a deleted
  // or replaced report is not served from here once the store has said so.
  const served = servedBodyCache<ServedBody>(SERVED_CACHE_BYTES);

  /** The report's JSON as stored: the canonical JSON of the signed model, written to the
   *  row on its first read (migration 0011) and sent as those bytes from then on, with
   *  their SHA-256 as a strong ETag; `If-None-Match` with it answers 304 without reading
   *  the body. Canonical JSON is what the content hash and signature are defined over,
   *  so the downloaded file passes `accesstrail verify` as it is (docs/api.md). */
  async function sendReportJson(id: string, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const tagged = await reads.reportJson(id, true);
    if (!tagged) throw new AppError('NOT_FOUND', `no report with id ${id}`);
    if (tagged.sha256 !== null) {
      const etag = etagOf(tagged.sha256);
      const notModified = sendNotModified(request, reply, etag);
      if (notModified) return notModified;
      const cached = served.get(id);
      if (cached?.etag === etag) return sendServed(request, reply, cached);
    }
    let stored = await reads.reportJson(id);
    if (!stored) throw new AppError('NOT_FOUND', `no report with id ${id}`);
    if (stored.json === null || stored.sha256 === null) {
      const { model } = await loadModel(id);
      const json = canonicalReportJson(model);
      await reads.storeReportJson(id, json, sha256Hex(json));
      // Read back: a concurrent first read may have written (the same bytes) first.
      stored = await reads.reportJson(id);
      if (!stored?.json || !stored.sha256) throw new AppError('NOT_FOUND', `no report with id ${id}`);
    }
    const body = servedBytes(etagOf(stored.sha256), Buffer.from(stored.json, 'utf8'));
    served.set(id, body);
    return sendServed(request, reply, body);
  }

  // The JSON Schema of the report document (reports/report.schema.json), so a GRC tool
  // can validate what it downloads.
  app.get(
    '/schemas/report',
    bearerRoute(auth, 'reports:read', {
      tags: ['reports'],
      summary: 'the JSON Schema of the report document',
      response: { 200: z.looseObject({}) },
    }),
    async () => reportJsonSchema(),
  );

  app.get(
    '/reports',
    bearerRoute(auth, 'reports:read', {
      tags: ['reports'],
      summary: 'stored reports, newest first',
      querystring: z.strictObject({ ...pageQuery }),
      response: { 200: z.object({ items: z.array(reportSummary), ...pageShape }) },
    }),
    async (request) => {
      const { limit, cursor } = request.query;
      const after = cursor ? decodeCursor(cursor, ['string', 'string']) : undefined;
      const rows = await reads.listReports(
        limit + 1,
        after ? { generatedAt: new Date(after[0] as string), id: after[1] as string } : undefined,
      );
      const result = page(rows, limit, (row) => [isoRequired(row.generated_at), row.id]);
      return {
        items: result.items.map((row) => ({
          id: row.id,
          framework: row.framework,
          period: { from: isoRequired(row.period_from), to: isoRequired(row.period_to) },
          asOf: isoRequired(row.as_of),
          generatedAt: isoRequired(row.generated_at),
          provisional: row.provisional,
          contentSha256: row.content_sha256,
        })),
        nextCursor: result.nextCursor,
      };
    },
  );

  app.post(
    '/reports',
    bearerRoute(auth, 'reports:write', {
      tags: ['reports'],
      summary: 'build, sign and store a report',
      body: createReportBody,
      response: {
        201: z.object({
          id: z.string(),
          framework: z.string(),
          period: z.object({ from: z.string(), to: z.string() }),
          contentSha256: z.string(),
          files: z.array(z.object({ format: z.string(), name: z.string(), sha256: z.string(), bytes: z.number() })),
        }),
      },
    }),
    async (request, reply) => {
      const body = request.body;
      const period = body.period ? parseQuarter(body.period) : { from: toDate(body.from as string), to: toDate(body.to as string) };
      const created = await createReport(
        { db: context.store.db, config: context.config, logger: context.logger, now: context.now },
        { framework: body.framework, period, formats: body.formats ?? ['json'] },
      );
      reply.status(201).header('location', `/v1/reports/${encodeURIComponent(created.reportId)}`);
      return {
        id: created.reportId,
        framework: created.model.framework,
        period: created.model.period,
        contentSha256: created.contentSha256,
        files: created.files.map((file) => ({
          format: file.format,
          name: path.basename(file.path),
          sha256: file.sha256,
          bytes: file.bytes,
        })),
      };
    },
  );

  app.get(
    '/reports/:id',
    bearerRoute(auth, 'reports:read', {
      tags: ['reports'],
      summary: 'a stored report: JSON by default; Accept: application/pdf or text/csv, or ?format=, for the others',
      description:
        'CSV returns findings.csv, or the population named by ?population= (human-accounts, terminated-people, privileged, privilege-changes, non-human, credentials). OSCAL is an assessment-results document.',
      params: idParams,
      querystring: z.strictObject({
        format: z.enum(['json', 'pdf', 'csv', 'oscal']).optional(),
        population: z
          .string()
          .regex(/^[a-z][a-z-]*$/, 'must be a population name such as human-accounts')
          .optional(),
      }),
      response: { 200: reportDocument },
    }),
    async (request, reply) => {
      const rendering = renderingOf(request.query.format, request.headers.accept);
      // The representation depends on Accept (JSON, PDF, CSV): caches must key on it.
      reply.header('vary', 'accept');
      if (rendering === 'json') return sendReportJson(request.params.id, request, reply);
      const { model } = await loadModel(request.params.id);
      const base = reportBaseName(model);
      if (rendering === 'oscal') {
        return sendRaw(reply, 'application/json; charset=utf-8', `${base}.oscal.json`, renderOscal(model));
      }
      if (rendering === 'csv') {
        const files = renderCsvFiles(model);
        const name = `${request.query.population ?? 'findings'}.csv`;
        const file = files.find((candidate) => candidate.name === name);
        if (!file) {
          const populations = files
            .map((candidate) => candidate.name.replace(/\.csv$/, ''))
            .filter((candidate) => candidate !== 'findings');
          throw new AppError('INPUT_INVALID', `querystring.population must be one of ${populations.join(', ')}`);
        }
        return sendRaw(reply, 'text/csv; charset=utf-8', `${base}-${name}`, file.content);
      }
      // PDF: streamed as pdfkit writes it, so memory stays flat for large reports.
      const stream = new PassThrough();
      renderPdf(model, stream).catch((error: unknown) => {
        request.log.error({ err: error }, 'PDF rendering failed');
        stream.destroy(error as Error);
      });
      return sendRaw(reply, 'application/pdf', `${base}.pdf`, stream, 'inline');
    },
  );

  app.get(
    '/reports/:id/verify',
    bearerRoute(auth, 'reports:read', {
      tags: ['reports'],
      summary: "checks the stored report's content hash and signature against the trusted public keys",
      params: idParams,
      response: {
        200: z.object({
          id: z.string(),
          ok: z.boolean(),
          reasons: z.array(z.string()),
          contentSha256: z.string().nullable(),
          keyId: z.string().nullable(),
        }),
      },
    }),
    async (request) => {
      const { model, storedSha256 } = await loadModel(request.params.id);
      const result = verifySignedModel(model, loadTrustedPublicKeys(context.config.dataDir));
      const reasons = [...result.reasons];
      if (result.contentSha256 !== null && result.contentSha256 !== storedSha256) {
        reasons.push(`the report row records content hash ${storedSha256}, the document states ${result.contentSha256}`);
      }
      return { id: request.params.id, ok: reasons.length === 0, reasons, contentSha256: result.contentSha256, keyId: result.keyId };
    },
  );
};
