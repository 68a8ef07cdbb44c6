// The web console at `/`: sign-in through Entra ID, server-side sessions, CSRF tokens on
// every form, security headers, and the pages. Registered by buildApp in its own
// encapsulated scope, so its cookies, form parsing, headers and HTML errors leave the
// JSON API untouched. Reads go through the API's read repository and the console
// repository; reports through the report services.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { decodeCursor, page as pageOf } from '../api/pagination.js';
import type { RouteContext } from '../api/routes/context.js';
import { toFinding } from '../api/routes/findings.routes.js';
import { toAccount } from '../api/routes/people.routes.js';
import { AppError, isAppError } from '../errors.js';
import type { ReportModel } from '../reports/model.js';
import { renderCsvFiles } from '../reports/render/csv.js';
import { renderJson } from '../reports/render/json.js';
import { reportBaseName } from '../reports/render/naming.js';
import { renderOscal } from '../reports/render/oscal.js';
import { renderPdf } from '../reports/render/pdf/index.js';
import { createReport } from '../reports/service.js';
import { loadTrustedPublicKeys, verifySignedModel } from '../reports/signing.js';
import { MANIFEST_SUFFIX } from '../reports/write.js';
import { readFreshness } from '../store/freshness.repository.js';
import { createConsoleRepository } from './console.repository.js';
import type { PageUser } from './html.js';
import * as pages from './pages.js';
import { atLeast } from './roles.js';
import { type ConsoleRole, type ConsoleSession, createSessionRepository, sameToken } from './session.repository.js';
import { type ConsoleSettings, consoleSettings, createEntraSignIn, type EntraSignIn } from './sign-in.js';
import { CONSOLE_CSS } from './styles.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession & { id: string };
  }
}

export interface ConsoleOptions {
  context: RouteContext;
  /** A CA to trust for Entra (the emulator's); else the system's. */
  tlsCa?: string;
}

const COVERAGE_DAYS = 90;
const TIMELINE_DAYS = 90;
const PAGE_SIZE = 50;
const REPORTS_PAGE_SIZE = 20;
const EVIDENCE_SHOWN = 25;

function quarterOf(date: Date): { label: string; from: Date; to: Date } {
  const year = date.getUTCFullYear();
  const q = Math.floor(date.getUTCMonth() / 3) + 1;
  return { label: `${year}-Q${q}`, from: new Date(Date.UTC(year, (q - 1) * 3, 1)), to: new Date(Date.UTC(year, q * 3, 1)) };
}

function parseQuarter(label: string): { from: Date; to: Date } {
  const year = Number(label.slice(0, 4));
  const q = Number(label.slice(6));
  return { from: new Date(Date.UTC(year, (q - 1) * 3, 1)), to: new Date(Date.UTC(year, q * 3, 1)) };
}

const dateText = z.iso.date();
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const findingQuery = z.object({
  rule: optional(z.string().regex(/^[a-z][a-z-]*$/, 'must be a rule id such as sso-bypass')),
  severity: optional(z.enum(['high', 'medium', 'low'])),
  person: optional(z.string().min(1).max(200)),
  from: optional(dateText),
  to: optional(dateText),
  cursor: optional(z.string().max(1000)),
});

const reportForm = z
  .object({
    framework: z.enum(['soc2', 'iso27001']),
    period: optional(z.string().regex(/^\d{4}-Q[1-4]$/, 'must look like 2026-Q3')),
    from: optional(dateText),
    to: optional(dateText),
  })
  .superRefine((body, ctx) => {
    if (body.from !== undefined || body.to !== undefined) {
      if (body.from === undefined || body.to === undefined)
        ctx.addIssue({ code: 'custom', path: ['from'], message: 'give both from and to, or a quarter' });
      else if (body.from >= body.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
    } else if (body.period === undefined) ctx.addIssue({ code: 'custom', path: ['period'], message: 'give a quarter or from and to' });
  });

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'input'} ${issue.message}`;
}

/** Only same-site paths are followed after sign-in (no open redirect). */
function safeReturnTo(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) && !value.startsWith('/auth/') ? value : '/';
}

export async function consolePlugin(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const { context } = options;
  const settingsOrOff = consoleSettings(context.config);
  // The console's pages are not part of the API's OpenAPI document.
  app.addHook('onRoute', (route) => {
    route.schema = { ...(route.schema ?? {}), hide: true };
  });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        scriptSrc: ["'none'"],
      },
    },
    // HSTS only where the console is served over https.
    strictTransportSecurity: 'off' in settingsOrOff ? false : settingsOrOff.secure ? { maxAge: 31_536_000 } : false,
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
  });
  app.get('/console.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CONSOLE_CSS),
  );

  if ('off' in settingsOrOff) {
    context.logger.info(`web console off: ${settingsOrOff.off}`);
    app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(pages.consoleOffPage(settingsOrOff.off)));
    return;
  }
  const settings: ConsoleSettings = settingsOrOff;
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 64 * 1024 });

  const signIn: EntraSignIn = createEntraSignIn(context.config, settings, options.tlsCa ? { tlsCa: options.tlsCa } : {});
  const sessions = createSessionRepository(context.store.db, context.now);
  const repo = createConsoleRepository(context.store.db, {
    metabaseAppIds: context.config.ENTRA_METABASE_APP_IDS,
    adminGroupIds: context.config.ENTRA_ADMIN_GROUP_IDS,
  });
  const reads = context.reads;
  // __Host- cookies must be Secure, path /, without a domain: the browser then refuses
  // them from any other origin or over http.
  const sessionCookie = settings.secure ? '__Host-accesstrail-session' : 'accesstrail-session';
  const signInCookie = settings.secure ? '__Host-accesstrail-signin' : 'accesstrail-signin';
  const cookieOptions = { httpOnly: true, secure: settings.secure, sameSite: 'lax' as const, path: '/' };

  const html = (reply: FastifyReply, text: string, status = 200) =>
    reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(text);
  const userOf = (request: FastifyRequest): PageUser => {
    const s = request.consoleSession!;
    return { displayName: s.displayName, username: s.username, role: s.role, csrfToken: s.csrfToken };
  };

  app.setErrorHandler((error, request, reply) => {
    const user = request.consoleSession ? userOf(request) : undefined;
    if (isAppError(error)) {
      // Our errors' messages name the problem and never a secret, so the page shows them.
      if (error.httpStatus >= 500) request.log.error({ err: error }, 'console request failed');
      else request.log.info({ code: error.code }, error.message);
      return html(
        reply,
        pages.messagePage(error.httpStatus >= 500 ? 'Not available' : 'Cannot do that', error.message, user),
        error.httpStatus,
      );
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500)
      return html(reply, pages.messagePage('Bad request', (error as Error).message, user), status);
    request.log.error({ err: error }, 'console request failed');
    if (reply.sent || reply.raw.headersSent) return;
    return html(
      reply,
      pages.messagePage(
        'Something went wrong',
        `The console could not answer (request ${request.id}); the service log has the details.`,
        user,
      ),
      500,
    );
  });

  /** preHandler: a live session with at least `role`; forms also need the session's CSRF token. */
  function requireRole(role: ConsoleRole) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const id = request.cookies[sessionCookie];
      const session = id ? await sessions.find(id) : undefined;
      if (!session || !id) {
        const returnTo = request.method === 'GET' ? request.url : '/';
        return reply.redirect(`/sign-in?returnTo=${encodeURIComponent(returnTo)}`, 303);
      }
      request.consoleSession = { ...session, id };
      if (request.method === 'POST') {
        const token = (request.body as Record<string, unknown> | undefined)?.['_csrf'];
        if (typeof token !== 'string' || !sameToken(token, session.csrfToken)) {
          request.log.warn({ path: request.url }, 'console form refused: CSRF token missing or wrong');
          return html(
            reply,
            pages.messagePage(
              'Form refused',
              'The form was refused: its security token does not belong to your session. Reload the page and try again.',
              userOf(request),
            ),
            403,
          );
        }
      }
      if (!atLeast(session.role, role)) {
        return html(
          reply,
          pages.messagePage('Not allowed', `This needs the ${role} role; you are signed in as ${session.role}.`, userOf(request)),
          403,
        );
      }
    };
  }

  // ------------------------------------------------------------------ sign-in and out

  app.get('/sign-in', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const returnTo = safeReturnTo(query['returnTo']);
    const id = request.cookies[sessionCookie];
    if (id && (await sessions.find(id))) return reply.redirect(returnTo, 303);
    return html(reply, pages.signInPage({ returnTo }));
  });

  app.get('/auth/login', async (request, reply) => {
    const returnTo = safeReturnTo((request.query as Record<string, unknown>)['returnTo']);
    const { url, pending } = await signIn.begin(returnTo);
    const attempt = await sessions.startSignIn(pending);
    reply.setCookie(signInCookie, attempt, { ...cookieOptions, maxAge: 600 });
    return reply.redirect(url.toString(), 303);
  });

  app.get('/auth/callback', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const attempt = request.cookies[signInCookie];
    reply.clearCookie(signInCookie, cookieOptions);
    if (query['error']) {
      return html(
        reply,
        pages.signInPage({
          returnTo: '/',
          message: `Entra ID did not sign you in: ${query['error']}${query['error_description'] ? ` (${query['error_description'].slice(0, 300)})` : ''}`,
        }),
        401,
      );
    }
    const pending = attempt ? await sessions.takeSignIn(attempt) : undefined;
    if (!pending)
      return html(
        reply,
        pages.signInPage({ returnTo: '/', message: 'This sign-in expired or was started in another browser; start again.' }),
        400,
      );
    const callback = new URL(settings.redirectUri);
    for (const [name, value] of Object.entries(query)) if (typeof value === 'string') callback.searchParams.set(name, value);
    let person;
    try {
      person = await signIn.finish(callback, pending);
    } catch (error) {
      request.log.warn({ err: { message: (error as Error).message, name: (error as Error).name } }, 'console sign-in failed');
      return html(reply, pages.signInPage({ returnTo: '/', message: `Sign-in failed: ${(error as Error).message}` }), 401);
    }
    if (!person.role) {
      request.log.info(
        { subject: person.subject, appRoles: person.appRoles, groups: person.groupCount },
        'console sign-in refused: no mapped role',
      );
      return html(
        reply,
        pages.noRolePage({
          who: person.username ?? person.displayName ?? person.subject,
          appRoles: person.appRoles,
          groupCount: person.groupCount,
          groupsFrom: person.groupsFrom,
          mapping: settings.roles,
        }),
        403,
      );
    }
    const { id } = await sessions.create({
      subject: person.subject,
      tenantId: person.tenantId,
      displayName: person.displayName,
      username: person.username,
      role: person.role,
      lifetimeHours: settings.sessionHours,
    });
    request.log.info({ subject: person.subject, role: person.role }, 'console sign-in');
    reply.setCookie(sessionCookie, id, { ...cookieOptions, maxAge: settings.sessionHours * 3600 });
    return reply.redirect(pending.returnTo, 303);
  });

  app.post('/sign-out', { preHandler: requireRole('viewer') }, async (request, reply) => {
    await sessions.end(request.consoleSession!.id);
    reply.clearCookie(sessionCookie, cookieOptions);
    return reply.redirect('/signed-out', 303);
  });

  app.get('/signed-out', async (_request, reply) => html(reply, pages.signedOutPage()));

  // ------------------------------------------------------------------ pages

  async function verificationOf(model: ReportModel, storedSha256: string, keys = loadTrustedPublicKeys(context.config.dataDir)) {
    const result = verifySignedModel(model, keys);
    const reasons = [...result.reasons];
    if (result.contentSha256 !== null && result.contentSha256 !== storedSha256)
      reasons.push(`the report row records content hash ${storedSha256}, the document states ${result.contentSha256}`);
    return { ok: reasons.length === 0, reasons, keyId: result.keyId };
  }

  app.get('/', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const framework = (request.query as Record<string, unknown>)['framework'] === 'iso27001' ? 'iso27001' : 'soc2';
    const now = context.now();
    const quarter = quarterOf(now);
    const runId = await reads.latestCorrelationRunId();
    const stored = await repo.latestReportSince(framework, quarter.from);
    const freshness = await readFreshness(context.store.db, { now, entraRetentionDays: context.config.ENTRA_LOG_RETENTION_DAYS });
    const report = stored
      ? {
          id: stored.id,
          model: stored.content as unknown as ReportModel,
          verification: await verificationOf(stored.content as unknown as ReportModel, stored.content_sha256),
        }
      : undefined;
    return html(
      reply,
      pages.overviewPage(userOf(request), {
        framework,
        quarter,
        report,
        correlationRunId: runId,
        counts: runId === undefined ? [] : await repo.findingCounts(runId, quarter.from, quarter.to),
        freshness,
        retentionDays: context.config.ENTRA_LOG_RETENTION_DAYS,
        now,
      }),
    );
  });

  app.get('/reports', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const framework = query['framework'] === 'soc2' || query['framework'] === 'iso27001' ? query['framework'] : undefined;
    const period = query['period'] && /^\d{4}-Q[1-4]$/.test(query['period']) ? query['period'] : undefined;
    const range = period ? parseQuarter(period) : undefined;
    const keys = loadTrustedPublicKeys(context.config.dataDir);
    // The list is read in pages of the API's order (newest first) and filtered here;
    // a store keeps tens of reports a year, not millions.
    const after = query['cursor'] ? decodeCursor(query['cursor'], ['string', 'string']) : undefined;
    const candidates = await reads.listReports(
      500,
      after ? { generatedAt: new Date(after[0] as string), id: after[1] as string } : undefined,
    );
    const matching = candidates.filter(
      (r) =>
        (!framework || r.framework === framework) &&
        (!range || (new Date(r.period_from).getTime() < range.to.getTime() && new Date(r.period_to).getTime() > range.from.getTime())),
    );
    const shown = pageOf(matching, REPORTS_PAGE_SIZE, (r) => [new Date(r.generated_at).toISOString(), r.id]);
    const rows: pages.ReportRowView[] = [];
    for (const r of shown.items) {
      const content = await reads.reportContent(r.id);
      const model = content?.content as ReportModel | undefined;
      rows.push({
        id: r.id,
        framework: r.framework,
        periodFrom: new Date(r.period_from),
        periodTo: new Date(r.period_to),
        asOf: new Date(r.as_of),
        generatedAt: new Date(r.generated_at),
        provisional: r.provisional,
        contentSha256: r.content_sha256,
        verification: model
          ? await verificationOf(model, r.content_sha256, keys)
          : { ok: false, reasons: ['the stored report is missing'], keyId: null },
        hasManifest: model ? existsSync(manifestPath(model)) : false,
      });
    }
    const built = typeof query['built'] === 'string' ? query['built'] : undefined;
    return html(
      reply,
      pages.reportsPage(userOf(request), {
        rows,
        framework,
        period,
        nextCursor: shown.nextCursor,
        notice: built ? `Report ${built} was built, signed and stored.` : undefined,
        defaultQuarter: quarterOf(context.now()).label,
      }),
    );
  });

  function manifestPath(model: ReportModel): string {
    return path.join(context.config.dataDir, 'reports', `${reportBaseName(model)}${MANIFEST_SUFFIX}`);
  }

  app.post('/reports', { preHandler: requireRole('reviewer') }, async (request, reply) => {
    const parsed = reportForm.safeParse(request.body);
    if (!parsed.success) throw new AppError('INPUT_INVALID', firstIssue(parsed.error));
    const body = parsed.data;
    const period =
      body.from && body.to
        ? { from: new Date(`${body.from}T00:00:00Z`), to: new Date(`${body.to}T00:00:00Z`) }
        : parseQuarter(body.period!);
    if (period.from.getTime() > context.now().getTime()) throw new AppError('INPUT_INVALID', 'the period has not started yet');
    const created = await createReport(
      { db: context.store.db, config: context.config, logger: context.logger, now: context.now },
      // All renderings and the signed manifest go to <data dir>/reports, so every
      // download can be checked offline with `accesstrail verify`.
      { framework: body.framework, period, formats: ['json', 'pdf', 'csv', 'oscal'] },
    );
    request.log.info({ reportId: created.reportId, by: request.consoleSession!.subject }, 'report built from the console');
    return reply.redirect(`/reports?built=${encodeURIComponent(created.reportId)}`, 303);
  });

  app.get('/reports/:id/:format', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const { id, format } = request.params as { id: string; format: string };
    const stored = await reads.reportContent(id);
    if (!stored) throw new AppError('NOT_FOUND', `no report with id ${id}`);
    const model = stored.content as ReportModel;
    const base = reportBaseName(model);
    const attach = (type: string, name: string) =>
      reply.type(type).header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store');
    // The artefacts written when the report was built (and listed in its signed
    // manifest) are served as they are, so a download verifies offline against the
    // manifest; a report built elsewhere is rendered from the stored model.
    const written = (name: string) => {
      const file = path.join(context.config.dataDir, 'reports', name);
      return existsSync(file) ? createReadStream(file) : undefined;
    };
    switch (format) {
      case 'json':
        return attach('application/json; charset=utf-8', `${base}.json`).send(written(`${base}.json`) ?? renderJson(model));
      case 'oscal':
        return attach('application/json; charset=utf-8', `${base}.oscal.json`).send(written(`${base}.oscal.json`) ?? renderOscal(model));
      case 'csv': {
        const name = `${base}-findings.csv`;
        return attach('text/csv; charset=utf-8', name).send(
          written(name) ?? renderCsvFiles(model).find((f) => f.name === 'findings.csv')!.content,
        );
      }
      case 'pdf': {
        const file = written(`${base}.pdf`);
        if (file) return attach('application/pdf', `${base}.pdf`).send(file);
        const stream = new PassThrough();
        renderPdf(model, stream).catch((error: unknown) => {
          request.log.error({ err: error }, 'PDF rendering failed');
          stream.destroy(error as Error);
        });
        return attach('application/pdf', `${base}.pdf`).send(stream);
      }
      case 'manifest': {
        const file = manifestPath(model);
        if (!existsSync(file))
          throw new AppError('NOT_FOUND', 'this report has no signed manifest in the data folder (it was built elsewhere)');
        return attach('application/json; charset=utf-8', path.basename(file)).send(readFileSync(file, 'utf8'));
      }
      default:
        throw new AppError('NOT_FOUND', `no rendering "${format}": use json, pdf, csv, oscal or manifest`);
    }
  });

  app.get('/findings', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const parsed = findingQuery.safeParse(request.query);
    const runId = await reads.latestCorrelationRunId();
    const rules = runId === undefined ? [] : await repo.ruleIds(runId);
    if (!parsed.success) {
      return html(
        reply,
        pages.findingsPage(userOf(request), {
          filters: {},
          rules,
          rows: [],
          nextCursor: null,
          correlationRunId: runId,
          error: `Filter not applied: ${firstIssue(parsed.error)}`,
        }),
        400,
      );
    }
    const q = parsed.data;
    const filters = { rule: q.rule, severity: q.severity, person: q.person, from: q.from, to: q.to };
    if (runId === undefined)
      return html(reply, pages.findingsPage(userOf(request), { filters, rules, rows: [], nextCursor: null, correlationRunId: undefined }));
    const afterId = q.cursor ? String(decodeCursor(q.cursor, ['string'])[0]) : undefined;
    const rows = await reads.listFindings(
      runId,
      {
        rule: q.rule,
        severity: q.severity,
        personId: q.person,
        from: q.from ? new Date(`${q.from}T00:00:00Z`) : undefined,
        to: q.to ? new Date(`${q.to}T00:00:00Z`) : undefined,
      },
      PAGE_SIZE + 1,
      afterId,
    );
    const result = pageOf(rows, PAGE_SIZE, (row) => [row.id]);
    return html(
      reply,
      pages.findingsPage(userOf(request), {
        filters,
        rules,
        rows: result.items.map(findingView),
        nextCursor: result.nextCursor,
        correlationRunId: runId,
      }),
    );
  });

  app.get('/findings/:id', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const runId = await reads.latestCorrelationRunId();
    const row = runId === undefined ? undefined : await repo.findingById(runId, id);
    if (!row) throw new AppError('NOT_FOUND', `no finding ${id} in the latest correlation`);
    const finding = toFinding(row);
    const evidence = [];
    for (const ref of finding.evidence.slice(0, EVIDENCE_SHOWN))
      evidence.push({ ref, records: await repo.evidenceRecords(ref.source, ref.id) });
    return html(
      reply,
      pages.findingPage(userOf(request), {
        finding: { ...findingView(row), detail: row.detail },
        evidence,
        truncated: Math.max(0, finding.evidence.length - EVIDENCE_SHOWN),
      }),
    );
  });

  app.get('/people/:id', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const runId = await reads.latestCorrelationRunId();
    const directory = await reads.personDirectoryEntry(id);
    const accounts = runId === undefined ? [] : await reads.listAccounts(runId, 200, { personId: id });
    const findings = runId === undefined ? [] : await reads.listFindings(runId, { personId: id }, 200);
    if (!directory && accounts.length === 0 && findings.length === 0)
      throw new AppError('NOT_FOUND', `no person ${id} in the directory or the latest correlation`);
    const now = context.now();
    const window = { from: new Date(now.getTime() - TIMELINE_DAYS * 86_400_000), to: now };
    const linked = accounts
      .filter((a) => a.status === 'linked')
      .map((a) => ({ sourceId: a.metabase_source_id, accountId: Number(a.account_id) }));
    return html(
      reply,
      pages.personPage(userOf(request), {
        id,
        name: await repo.personName(id),
        upn: directory?.user_principal_name ?? null,
        enabled: directory?.account_enabled ?? null,
        accounts: accounts.map(toAccount),
        terminated:
          runId === undefined
            ? []
            : (await repo.terminatedIntervals(runId, id)).map((t) => ({
                from: new Date(t.started_at),
                to: t.ended_at ? new Date(t.ended_at) : null,
                reason: t.reason,
                approximate: t.approximate,
              })),
        timeline: await repo.personTimeline(id, linked, window),
        window,
        findings: findings.map(findingView),
      }),
    );
  });

  app.get('/coverage', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const now = context.now();
    const window = { from: new Date(now.getTime() - COVERAGE_DAYS * 86_400_000), to: now };
    return html(reply, pages.coveragePage(userOf(request), { streams: await repo.coverage(window), window }));
  });

  app.get('/collections', { preHandler: requireRole('viewer') }, async (request, reply) => {
    const runs = await reads.collectionRuns(50);
    const views: pages.CollectionRunView[] = [];
    for (const run of runs) {
      const summary = (run.summary ?? {}) as {
        sources?: { sourceId?: string; streams?: { stream?: string; records?: number; quarantined?: number }[] }[];
      };
      const streams = (summary.sources ?? []).flatMap((s) =>
        (s.streams ?? []).map((st) => ({
          sourceId: String(s.sourceId ?? ''),
          stream: String(st.stream ?? ''),
          records: typeof st.records === 'number' ? st.records : null,
          quarantined: typeof st.quarantined === 'number' ? st.quarantined : null,
        })),
      );
      views.push({
        id: run.id,
        kind: run.kind,
        status: run.status,
        requested: (run.requested ?? {}) as Record<string, unknown>,
        startedAt: new Date(run.started_at),
        finishedAt: run.finished_at ? new Date(run.finished_at) : null,
        streams,
        progress:
          run.status === 'running'
            ? (await repo.runProgress(run.id)).map((p) => ({ sourceId: p.source_id, stream: p.stream, at: new Date(p.updated_at) }))
            : [],
        error: run.error,
      });
    }
    const started = (request.query as Record<string, unknown>)['started'];
    return html(
      reply,
      pages.collectionsPage(userOf(request), {
        runs: views,
        busy: context.collections.busy(),
        notice: typeof started === 'string' ? `Collection run ${started} started; reload to follow it.` : undefined,
      }),
    );
  });

  app.post('/collections', { preHandler: requireRole('admin') }, async (request, reply) => {
    const parsed = z.object({ source: z.enum(['entra', 'metabase', 'all']) }).safeParse(request.body);
    if (!parsed.success) throw new AppError('INPUT_INVALID', firstIssue(parsed.error));
    const id = await context.collections.start({ source: parsed.data.source, requestedBy: `console:${request.consoleSession!.subject}` });
    return reply.redirect(`/collections?started=${id}`, 303);
  });
}

function findingView(row: Parameters<typeof toFinding>[0]): pages.FindingView {
  const evidence = Array.isArray(row.evidence) ? row.evidence.length : 0;
  return {
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    personId: row.person_id,
    upn: row.upn,
    accountId: row.account_id,
    email: row.email,
    summary: row.summary,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    evidenceCount: evidence,
  };
}
