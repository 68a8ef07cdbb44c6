// People (Entra users) and Metabase accounts as the latest successful correlation
// linked them.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { AppError } from '../../errors.js';
import { bearerRoute } from '../auth.js';
import { decodeCursor, page, pageQuery, pageShape } from '../pagination.js';
import { iso, type RouteOptions } from './context.js';
import { findingSchema, toFinding } from './findings.routes.js';

const RECENT_LOGINS = 50;
const PERSON_FINDINGS = 500;

const accountSchema = z.object({
  metabaseSourceId: z.string(),
  accountId: z.number(),
  email: z.string().nullable(),
  active: z.boolean().nullable().describe('null when the account is no longer present in Metabase or was never observed'),
  linkStatus: z.enum(['linked', 'ambiguous', 'unmatched', 'non-human']),
  personId: z.string().nullable(),
  entraSourceId: z.string().nullable(),
  linkMethod: z.string().nullable(),
  matchedValue: z.string().nullable(),
});

type AccountRow = Awaited<ReturnType<RouteOptions['context']['reads']['listAccounts']>>[number];

/** A Metabase account with its identity link, as the API and the console's person page show it. */
export type Account = z.infer<typeof accountSchema>;

export function toAccount(row: AccountRow): Account {
  return {
    metabaseSourceId: row.metabase_source_id,
    accountId: Number(row.account_id),
    email: row.email ?? null,
    active: row.present === false ? false : (row.is_active ?? null),
    linkStatus: row.status,
    personId: row.person_id,
    entraSourceId: row.entra_source_id,
    linkMethod: row.method,
    matchedValue: row.matched_value,
  };
}

const loginSchema = z.object({
  metabaseSourceId: z.string(),
  loginId: z.string(),
  loginAt: z.string(),
  accountId: z.number(),
  outcome: z.string().describe('explained | unexplained | password-session | unlinked | not-evaluable'),
  signInId: z.string().nullable(),
  signInAt: z.string().nullable(),
  lagSeconds: z.number().nullable(),
  sameIp: z.boolean().nullable(),
});

export const peopleRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { context }) => {
  const { auth, reads } = context;

  app.get(
    '/people/:id',
    bearerRoute(auth, 'findings:read', {
      tags: ['people'],
      summary: "a person's linked Metabase accounts, findings and recent logins (latest successful correlation run)",
      params: z.object({ id: z.string().min(1).max(200).describe('Entra object id') }),
      response: {
        200: z.object({
          id: z.string(),
          upn: z.string().nullable(),
          correlationRunId: z.number().nullable(),
          accounts: z.array(accountSchema),
          findings: z.array(findingSchema),
          recentLogins: z.array(loginSchema),
        }),
      },
    }),
    async (request) => {
      const personId = request.params.id;
      const runId = await reads.latestCorrelationRunId();
      const directory = await reads.personDirectoryEntry(personId);
      const [accounts, findings, logins] =
        runId === undefined
          ? [[], [], []]
          : await Promise.all([
              reads.listAccounts(runId, 1000, { personId, status: 'linked' }),
              reads.listFindings(runId, { personId }, PERSON_FINDINGS),
              reads.recentLogins(runId, personId, RECENT_LOGINS),
            ]);
      if (!directory && accounts.length === 0 && findings.length === 0 && logins.length === 0) {
        throw new AppError('NOT_FOUND', `no person with id ${personId} in the directory or the latest correlation`);
      }
      return {
        id: personId,
        upn: directory?.user_principal_name?.toLowerCase() ?? findings.find((f) => f.upn)?.upn ?? null,
        correlationRunId: runId ?? null,
        accounts: accounts.map(toAccount),
        findings: findings.map(toFinding),
        recentLogins: logins.map((login) => ({
          metabaseSourceId: login.metabase_source_id,
          loginId: login.login_id,
          loginAt: iso(login.login_at) as string,
          accountId: Number(login.account_id),
          outcome: login.outcome,
          signInId: login.sign_in_id,
          signInAt: iso(login.sign_in_at),
          lagSeconds: login.lag_seconds,
          sameIp: login.same_ip,
        })),
      };
    },
  );

  app.get(
    '/accounts',
    bearerRoute(auth, 'findings:read', {
      tags: ['people'],
      summary: 'Metabase accounts with their identity links (latest successful correlation run)',
      querystring: z.strictObject({
        status: z.enum(['linked', 'ambiguous', 'unmatched', 'non-human']).optional(),
        ...pageQuery,
      }),
      response: {
        200: z.object({ correlationRunId: z.number().nullable(), items: z.array(accountSchema), ...pageShape }),
      },
    }),
    async (request) => {
      const { limit, cursor, status } = request.query;
      const after = cursor ? decodeCursor(cursor, ['string', 'number']) : undefined;
      const runId = await reads.latestCorrelationRunId();
      if (runId === undefined) return { correlationRunId: null, items: [], nextCursor: null };
      const rows = await reads.listAccounts(runId, limit + 1, {
        ...(after ? { after: { sourceId: after[0] as string, accountId: after[1] as number } } : {}),
        ...(status ? { status } : {}),
      });
      const result = page(rows, limit, (row) => [row.metabase_source_id, Number(row.account_id)]);
      return { correlationRunId: runId, items: result.items.map(toAccount), nextCursor: result.nextCursor };
    },
  );
};
