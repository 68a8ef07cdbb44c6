// Bearer API keys with scopes. Authentication runs in onRequest, before body parsing
// and validation, so a caller without a valid key learns nothing from a 400.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { hasScope, type ApiKeyInfo, type ApiKeyRepository, type ApiScope } from './api-keys.js';
import { sendError } from './http-errors.js';
import { requiresAuth } from './input-guard.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyInfo;
  }
}

export interface Auth {
  requireScope(scope: ApiScope): onRequestAsyncHookHandler;
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function createAuth(keys: ApiKeyRepository, now: () => Date): Auth {
  return {
    requireScope(scope) {
      const hook = async (request: FastifyRequest, reply: FastifyReply) => {
        const presented = bearerOf(request);
        if (presented === undefined) {
          return sendError(request, reply, 401, 'UNAUTHORIZED', 'an API key is required: send Authorization: Bearer <key>');
        }
        const key = await keys.authenticate(presented, now());
        if (!key) return sendError(request, reply, 401, 'UNAUTHORIZED', 'the API key is unknown or revoked');
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
