// The tenant's signing keys (JWKS), fetched through https-fetch (so a private CA can be
// trusted) and cached by jose, which refetches when a token names an unknown key id.
// Shared by the console (ID tokens) and the API (Entra-issued access tokens).
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';

import type { Config } from '../config.js';
import { httpsFetch } from './https-fetch.js';

export function tenantIssuer(config: Pick<Config, 'AZURE_AUTHORITY_HOST' | 'AZURE_TENANT_ID'>): string | undefined {
  if (!config.AZURE_TENANT_ID) return undefined;
  return `${config.AZURE_AUTHORITY_HOST.replace(/\/+$/, '')}/${config.AZURE_TENANT_ID}/v2.0`;
}

export function tenantKeySet(
  config: Pick<Config, 'AZURE_AUTHORITY_HOST' | 'AZURE_TENANT_ID'>,
  tlsCa?: string,
): JWTVerifyGetKey | undefined {
  if (!config.AZURE_TENANT_ID) return undefined;
  // Entra publishes the keys at <authority>/<tenant>/discovery/v2.0/keys (the
  // discovery document's jwks_uri).
  const url = new URL(`${config.AZURE_AUTHORITY_HOST.replace(/\/+$/, '')}/${config.AZURE_TENANT_ID}/discovery/v2.0/keys`);
  const fetchImpl = httpsFetch(tlsCa);
  return createRemoteJWKSet(url, {
    cooldownDuration: 30_000,
    cacheMaxAge: 6 * 3_600_000,
    [customFetch]: (input: string | URL | Request, init?: RequestInit) =>
      fetchImpl(String(input instanceof Request ? input.url : input), {
        method: init?.method ?? 'GET',
        headers: (init?.headers as Record<string, string> | undefined) ?? {},
        signal: init?.signal ?? null,
      }),
  });
}
