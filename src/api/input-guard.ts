// Request rules every route shares, installed once on the root instance (before any
// route plugin), so routes added later — the console's included — get them without
// opting in:
//
// - Text that Postgres cannot store never reaches a query. Postgres refuses U+0000 in
//   `text` and `jsonb` ("invalid byte sequence", "unsupported Unicode escape sequence"),
//   so a NUL in `/v1/reports/%00` or `?person=x%00` used to come back as a 500. Path
//   parameters and query strings are identifiers and filters: no control character
//   (C0, DEL) belongs in them. JSON bodies may carry line breaks, so there only NUL is
//   refused. The answer is a 400 naming the field, after authentication (the guard runs
//   in preValidation, after every onRequest hook), so an unauthenticated caller still
//   learns nothing but 401.
// - A route table: every route with the authentication its onRequest hooks demand,
//   read from hooks tagged by `requiresAuth` (auth.ts). The authorisation tests iterate
//   it, so a new route without authentication fails them unless it is declared public.
import type { FastifyInstance, FastifyRequest, RouteOptions as FastifyRouteOptions } from 'fastify';

import { sendError } from './http-errors.js';

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const NUL = /\u0000/;

/** What an onRequest hook demands, attached to the hook function itself. */
export interface AuthRequirement {
  kind: string;
  /** The scope or role needed, e.g. reports:read. */
  scope: string;
}

const AUTH_REQUIREMENT = Symbol.for('accesstrail.authRequirement');

/** Tags an onRequest hook with what it demands, so the route table can say it. */
export function requiresAuth<T extends object>(hook: T, requirement: AuthRequirement): T {
  Object.defineProperty(hook, AUTH_REQUIREMENT, { value: requirement, enumerable: false });
  return hook;
}

export function authRequirementOf(hook: unknown): AuthRequirement | undefined {
  return hook && typeof hook === 'function'
    ? ((hook as unknown as Record<symbol, AuthRequirement | undefined>)[AUTH_REQUIREMENT] ?? undefined)
    : undefined;
}

export interface RouteEntry {
  method: string;
  url: string;
  /** Every auth requirement among the route's onRequest hooks (empty: public). */
  auth: AuthRequirement[];
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on `app` after installInputGuard, in registration order. */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

/** The first string (key or value) under `value` that matches `pattern`, as a dotted path. */
function findText(value: unknown, pattern: RegExp, where: string, depth = 0): string | undefined {
  if (typeof value === 'string') return pattern.test(value) ? where : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Buffer.isBuffer(value)) return undefined;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (pattern.test(key)) return `${where} (a field name)`;
    const found = findText(child, pattern, `${where}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export function refusedInput(request: Pick<FastifyRequest, 'params' | 'query' | 'body'>): string | undefined {
  const inParams = findText(request.params, CONTROL_CHARACTER, 'params');
  if (inParams) return `${inParams}: must not contain control characters`;
  const inQuery = findText(request.query, CONTROL_CHARACTER, 'querystring');
  if (inQuery) return `${inQuery}: must not contain control characters`;
  const inBody = findText(request.body, NUL, 'body');
  if (inBody) return `${inBody}: must not contain the NUL character (U+0000)`;
  return undefined;
}

export function installInputGuard(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route: FastifyRouteOptions) => {
    const hooks = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    const auth = hooks.map(authRequirementOf).filter((r): r is AuthRequirement => r !== undefined);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) table.push({ method, url: route.url, auth });
  });
  app.addHook('preValidation', async (request, reply) => {
    const problem = refusedInput(request);
    if (problem) return sendError(request, reply, 400, 'INPUT_INVALID', problem);
  });
}
