// Graph access for the doctor: the collector's own credential, client and error
// vocabulary (graph-client.ts, requester.ts), with a short retry budget so a check
// answers in seconds. Each probe returns the page or the classified error, never throws.
import type { TokenCredential } from '@azure/identity';

import { createCredential, createGraphConnection, type GraphConnection } from '../collectors/entra/graph-client.js';
import { createPacer } from '../collectors/entra/pacer.js';
import { createRequester, type Requester, RequestFailure } from '../collectors/entra/requester.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

export type Json = Record<string, unknown>;

export type ProbeOutcome = { ok: true; value: Json[] } | { ok: false; error: AppError | RequestFailure };

export interface GraphProbe {
  /** GET `path` (relative to the Graph origin, e.g. `v1.0/users?$top=1`). */
  get(path: string): Promise<ProbeOutcome>;
  close(): void;
}

export interface GraphProbeOptions {
  tlsCa?: string;
  requestTimeoutMs?: number;
}

export function doctorCredential(config: Config, options: GraphProbeOptions): TokenCredential {
  return createCredential(config, options.tlsCa ? { tlsCa: options.tlsCa } : {});
}

export function openGraphProbe(config: Config, options: GraphProbeOptions): GraphProbe {
  const connection: GraphConnection = createGraphConnection(config, {
    ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}),
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  });
  const requester: Requester = createRequester({
    connection,
    pacer: createPacer(null),
    // A few quick retries for a passing 429/5xx; a doctor run must not hang for minutes.
    retry: { baseDelayMs: 300, maxDelayMs: 3_000, maxElapsedMs: 20_000, maxAttempts: 3, timeoutAttempts: 1 },
    authorityHost: config.AZURE_AUTHORITY_HOST,
  });
  return {
    async get(path) {
      try {
        const page = await requester.get(`${connection.origin}/${path}`);
        return { ok: true, value: page.value };
      } catch (error) {
        if (error instanceof AppError || error instanceof RequestFailure) return { ok: false, error };
        return { ok: false, error: new RequestFailure('bad-response', (error as Error)?.message ?? String(error), -1, undefined) };
      }
    },
    close: () => connection.close(),
  };
}

/** OData string literal: quotes doubled. */
export const odataString = (value: string) => `'${value.replace(/'/g, "''")}'`;

export const query = (path: string, params: Record<string, string>) =>
  `${path}?${Object.entries(params)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&')}`;

/** Graph instants in filters: unquoted ISO-8601 UTC without milliseconds. */
export const odataInstant = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A probe failure for a check's detail. A 403 is said as such: the requester's own
 *  message names the collector's permission guess, the check names the precise one. */
export function failureText(error: AppError | RequestFailure): string {
  if (error instanceof AppError && error.code === 'UPSTREAM_PERMISSION') return 'Graph denied it (403 Authorization_RequestDenied)';
  return error.message;
}
