// Bearer credentials with scopes: accesstrail API keys, and access tokens Entra issued
// to a GRC tool's own app registration. Authentication runs in onRequest, before body
// parsing and validation, so a caller without a valid credential learns nothing from a
// 400.
//
// Entra tokens (docs/console.md, "API tokens from Entra"): a JWT signed with one of the
// tenant's keys (JWKS, RS256 only, so `alg: none` and HMAC tricks fail), issued by
// AZURE_AUTHORITY_HOST/<tenant>/v2.0, for audience ACCESSTRAIL_API_AUDIENCE (or the
// API app's client id, which v2.0 tokens carry), within exp/nbf. Its app roles (`roles`)
// give the scopes below; a valid token without any of them is a 403.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';

import type { Config } from '../config.js';
import { type ApiKeyInfo, type ApiKeyRepository, type ApiScope, hasScope } from './api-keys.js';
import { tenantIssuer, tenantKeySet } from './entra-keys.js';
import { errorResponses, sendError } from './http-errors.js';
import { requiresAuth } from './input-guard.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyInfo;
    /** The Entra application (client id) whose access token authenticated the request. */
    entraClient?: { clientId: string; roles: string[] };
  }
}

/** Entra app role value → API scope. */
export const APP_ROLE_SCOPES: Readonly<Record<string, ApiScope>> = {
  'Reports.Read': 'reports:read',
  'Reports.Write': 'reports:write',
  'Findings.Read': 'findings:read',
  'Collections.Run': 'collect:run',
  Admin: 'admin',
};

export interface Auth {
  requireScope(scope: ApiScope): onRequestAsyncHookHandler;
}

export interface EntraTokenOptions {
  config: Config;
  /** A CA to trust for the JWKS (the emulator's); else the system's. */
  tlsCa?: string;
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

interface EntraVerifier {
  verify(token: string): Promise<{ ok: true; clientId: string; roles: string[] } | { ok: false; reason: string }>;
}

function entraVerifier(options: EntraTokenOptions): EntraVerifier | undefined {
  const { config } = options;
  const audiences = [config.ACCESSTRAIL_API_AUDIENCE, config.ACCESSTRAIL_API_CLIENT_ID].filter((a): a is string => a !== undefined);
  const issuer = tenantIssuer(config);
  if (audiences.length === 0 || !issuer) return undefined;
  const keys: JWTVerifyGetKey = tenantKeySet(config, options.tlsCa)!;
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer,
          audience: audiences,
          algorithms: ['RS256'],
          clockTolerance: 60,
          requiredClaims: ['exp'],
        });
        const roles = Array.isArray(payload['roles']) ? payload['roles'].filter((r): r is string => typeof r === 'string') : [];
        const clientId =
          typeof payload['azp'] === 'string'
            ? payload['azp']
            : typeof payload['appid'] === 'string'
              ? payload['appid']
              : String(payload.sub ?? 'unknown');
        return { ok: true, clientId, roles };
      } catch (error) {
        // The reason names the failed check (never the token).
        if (error instanceof joseErrors.JWTExpired) return { ok: false, reason: 'the Entra token has expired' };
        if (error instanceof joseErrors.JWTClaimValidationFailed)
          return { ok: false, reason: `the Entra token's ${error.claim} claim is not accepted` };
        if (error instanceof joseErrors.JWKSNoMatchingKey)
          return { ok: false, reason: "the Entra token is not signed by one of the tenant's keys" };
        if (error instanceof joseErrors.JWSSignatureVerificationFailed)
          return { ok: false, reason: 'the Entra token signature does not verify' };
        if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported)
          return { ok: false, reason: 'the Entra token is not signed with RS256' };
        return { ok: false, reason: 'the Entra token is not valid' };
      }
    },
  };
}

export function createAuth(keys: ApiKeyRepository, now: () => Date, entra?: EntraTokenOptions): Auth {
  const verifier = entra ? entraVerifier(entra) : undefined;
  return {
    requireScope(scope) {
      const hook = async (request: FastifyRequest, reply: FastifyReply) => {
        const presented = bearerOf(request);
        if (presented === undefined) {
          return sendError(
            request,
            reply,
            401,
            'UNAUTHORIZED',
            'an API key or Entra access token is required: send Authorization: Bearer <key or token>',
          );
        }
        if (verifier && JWT_SHAPE.test(presented)) {
          const result = await verifier.verify(presented);
          if (!result.ok) return sendError(request, reply, 401, 'UNAUTHORIZED', result.reason);
          request.entraClient = { clientId: result.clientId, roles: result.roles };
          const scopes = result.roles.map((role) => APP_ROLE_SCOPES[role]).filter((s): s is ApiScope => s !== undefined);
          if (!hasScope(scopes, scope)) {
            return sendError(
              request,
              reply,
              403,
              'FORBIDDEN',
              `this Entra token has no app role granting ${scope} (${Object.entries(APP_ROLE_SCOPES)
                .filter(([, s]) => s === scope || s === 'admin')
                .map(([r]) => r)
                .join(' or ')})`,
            );
          }
          request.log.debug({ entraClientId: result.clientId, scope }, 'authorised');
          return;
        }
        const key = await keys.authenticate(presented, now());
        if (!key) return sendError(request, reply, 401, 'UNAUTHORIZED', 'the API key is unknown, revoked or expired');
        request.apiKey = key;
        if (!hasScope(key.scopes, scope)) {
          return sendError(request, reply, 403, 'FORBIDDEN', `this API key lacks the scope ${scope}`);
        }
        request.log.debug({ apiKeyId: key.id, scope }, 'authorised');
      };
      // The route table (input-guard.ts) reads this, so the authorisation tests know every route's scope.
      return requiresAuth(hook, { kind: 'bearer', scope });
    },
  };
}

export const bearerSecurity = [{ bearerAuth: [] }];

/** The options of a route behind a bearer credential with `scope`: authentication before
 *  anything is parsed (onRequest), the OpenAPI security requirement, and the error
 *  responses every such route can answer with beside the route's own. */
export function bearerRoute<S extends { response: Record<number, unknown> }>(auth: Auth, scope: ApiScope, schema: S) {
  return {
    onRequest: auth.requireScope(scope),
    schema: { ...schema, security: bearerSecurity, response: { ...schema.response, ...errorResponses } },
  };
}
