// One paced, retried GET against Graph. Reporting endpoints (auditLogs) go through the
// pacer; every request retries 429/500/502/503/504, timeouts and resets with exponential
// backoff and jitter (the graph client's RetryHandler skips 500/502), honouring
// Retry-After, and gives up after a bounded time. Credential, permission and licence
// failures become one-line AppErrors; anything else a RequestFailure the caller can act
// on (a bad skip token or an exhausted retry budget redoes the window). A 200 whose body
// is cut short or is not JSON is retried like a reset. A windowed request (a log query
// whose time window the caller can narrow) gives a timeout back after a few tries
// instead of retrying the same too-wide query to exhaustion.
import { GraphError } from '@microsoft/microsoft-graph-client';

import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { GraphConnection } from './graph-client.js';
import { type Pacer, sleep } from './pacer.js';

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up on one request after this long (first attempt to last). */
  maxElapsedMs: number;
  maxAttempts: number;
  /** Timeouts (504, or no answer in time) of a windowed request before it is given back
   *  to the caller as a 'timeout' failure. */
  timeoutAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxElapsedMs: 5 * 60_000,
  maxAttempts: 10,
  timeoutAttempts: 2,
};

export interface GraphPage {
  value: Record<string, unknown>[];
  nextLink: string | undefined;
}

export type FailureKind = 'skip-token' | 'exhausted' | 'bad-request' | 'bad-response' | 'not-found' | 'timeout';

export class RequestFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'RequestFailure';
  }
}

export interface RequestStats {
  requests: number;
  retries: number;
  throttled: number;
  throttleWaitMs: number;
  timeouts: number;
}

export interface RequestOptions {
  /** An auditLogs request: paced to the reporting limit. */
  reporting?: boolean;
  /** A query over a time window the caller narrows when Graph times out. */
  windowed?: boolean;
}

export interface Requester {
  get(url: string, options?: RequestOptions): Promise<GraphPage>;
  readonly stats: RequestStats;
}

/** Process-wide listeners of Graph traffic (the service's /metrics counts requests, 429s, retries). */
export type GraphRequestEvent = 'request' | 'throttled' | 'retry';
export const graphRequestObservers = new Set<(event: GraphRequestEvent) => void>();
const notify = (event: GraphRequestEvent) => graphRequestObservers.forEach((observe) => observe(event));

const retryableStatus = new Set([429, 500, 502, 503, 504]);
const credentialErrors = new Set([
  'AuthenticationError',
  'CredentialUnavailableError',
  'AuthenticationRequiredError',
  'AggregateAuthenticationError',
]);

/** Which permission an endpoint needs, for the one-line error (spec §2.1, §3, §4.6). */
function permissionFor(path: string): string {
  if (path.includes('auditLogs')) return 'AuditLog.Read.All';
  if (path.includes('/members') || path.includes('/transitiveMembers')) return 'GroupMember.Read.All';
  if (path.includes('servicePrincipals') || path.includes('applications')) return 'Application.Read.All';
  return 'User.Read.All / Directory.Read.All';
}

function describePath(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

/** The AADSTS line of an Entra token error, without trace ids and timestamps. */
function entraReason(text: string): string | undefined {
  const match = /AADSTS\d+:[^\r\n]*?(?=\s+Trace ID:|$|\r|\n)/.exec(text);
  return match?.[0].trim();
}

/** Graph's gateway gave up (504) or no answer came within the transport's timeout. */
export function isTimeout(error: unknown): boolean {
  return error instanceof GraphError && (error.statusCode === 504 || error.code === 'RequestTimeout');
}

function retryAfterMs(error: GraphError): number | undefined {
  const header = error.headers?.get('retry-after');
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Turns what the graph client threw into our error vocabulary. */
export function classify(error: unknown, url: string, authorityHost: string): AppError | RequestFailure | 'retry' {
  if (error instanceof AppError || error instanceof RequestFailure) return error;
  if (!(error instanceof GraphError))
    return new RequestFailure('bad-response', `Graph request failed: ${(error as Error)?.message ?? String(error)}`, -1, undefined);
  const status = error.statusCode;
  const code = error.code ?? undefined;
  const path = describePath(url);
  if (code && credentialErrors.has(code)) {
    const text = `${error.message ?? ''} ${typeof error.body === 'string' ? error.body : ''}`;
    const reason = entraReason(text);
    if (reason) return new AppError('UPSTREAM_AUTH', `Entra refused the collector's credential: ${reason}`);
    if (/endpoints_resolution_error|untrusted_authority|issuer_validation_failed/i.test(text)) {
      return new AppError(
        'UPSTREAM_AUTH',
        `could not reach or trust the token authority ${authorityHost} (check AZURE_AUTHORITY_HOST, network and certificates)`,
      );
    }
    return new AppError(
      'UPSTREAM_AUTH',
      `no usable Azure credential: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or a certificate), or run where a managed identity is available`,
    );
  }
  if (status === 401)
    return new AppError(
      'UPSTREAM_AUTH',
      `Graph rejected the access token for GET ${path} (${code ?? 'unauthorized'}): check AZURE_TENANT_ID and GRAPH_BASE_URL`,
    );
  if (status === 403) {
    if (code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant' || /premium licen[cs]e/i.test(error.message ?? '')) {
      return new AppError(
        'UPSTREAM_LICENCE',
        `Entra sign-in logs need an Entra ID P1 or P2 licence: Graph answered "${error.message}" for GET ${path}`,
      );
    }
    return new AppError(
      'UPSTREAM_PERMISSION',
      `Graph denied GET ${path} (${code ?? 'forbidden'}): grant the collector app ${permissionFor(path)} with admin consent`,
    );
  }
  if (retryableStatus.has(status) || code === 'TransportError' || code === 'RequestTimeout') return 'retry';
  // A 2xx whose body could not be read as JSON was cut short on the way (a proxy, a
  // dropped connection): the same request answers again.
  if (status >= 200 && status < 300) return 'retry';
  if (status === 400 && /skip ?token/i.test(error.message ?? ''))
    return new RequestFailure('skip-token', `Graph refused the skip token of GET ${path}: ${error.message}`, status, code);
  if (status === 404) return new RequestFailure('not-found', `Graph has no ${path} (${error.message})`, status, code);
  if (status >= 400 && status < 500)
    return new RequestFailure('bad-request', `Graph refused GET ${path} (${status} ${code ?? ''}): ${error.message}`, status, code);
  return new RequestFailure('bad-response', `Graph answered GET ${path} with ${status}: ${error.message}`, status, code);
}

export function createRequester(options: {
  connection: GraphConnection;
  pacer: Pacer;
  retry?: RetryPolicy;
  authorityHost: string;
  signal?: AbortSignal;
  logger?: Logger;
  random?: () => number;
}): Requester {
  const policy = options.retry ?? defaultRetryPolicy;
  const random = options.random ?? Math.random;
  const stats: RequestStats = { requests: 0, retries: 0, throttled: 0, throttleWaitMs: 0, timeouts: 0 };

  async function get(url: string, { reporting = false, windowed = false }: RequestOptions = {}): Promise<GraphPage> {
    const started = Date.now();
    let timeouts = 0;
    // What the last failed attempt was, for the message when the budget runs out.
    let lastFailure = '';
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('collection aborted');
      let done = () => {};
      if (reporting) {
        const granted = await options.pacer.take(options.signal);
        stats.throttleWaitMs += granted.waitedMs;
        done = granted.done;
      }
      stats.requests++;
      notify('request');
      let outcome: ReturnType<typeof classify>;
      let waitMs: number | undefined;
      try {
        const body = (await options.connection.client.api(url).get()) as Record<string, unknown> | undefined;
        done();
        const value = body?.['value'];
        if (!Array.isArray(value)) {
          // "SignIns value is not a collection" (msgraph-beta-sdk-go#351): not a page.
          outcome = new RequestFailure(
            'bad-response',
            `Graph answered GET ${describePath(url)} without a value collection`,
            200,
            undefined,
          );
        } else {
          const next = body?.['@odata.nextLink'];
          return { value: value as Record<string, unknown>[], nextLink: typeof next === 'string' && next !== '' ? next : undefined };
        }
      } catch (error) {
        done();
        if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('collection aborted');
        outcome = classify(error, url, options.authorityHost);
        if (error instanceof GraphError)
          lastFailure =
            `${error.statusCode > 0 ? `${error.statusCode} ` : ''}${error.code ?? ''}${error.message ? `: ${error.message}` : ''}`.trim();
        if (outcome === 'retry' && isTimeout(error)) {
          stats.timeouts++;
          if (windowed && ++timeouts >= (policy.timeoutAttempts ?? defaultRetryPolicy.timeoutAttempts)) {
            throw new RequestFailure(
              'timeout',
              `Graph timed out on GET ${describePath(url)} ${timeouts} times (${(error as Error).message})`,
              (error as GraphError).statusCode,
              (error as GraphError).code ?? undefined,
            );
          }
        }
        if (error instanceof GraphError && error.statusCode === 429) {
          stats.throttled++;
          notify('throttled');
          waitMs = retryAfterMs(error);
          if (waitMs !== undefined && reporting) options.pacer.pause(waitMs);
        }
      }
      if (outcome !== 'retry') throw outcome;
      const elapsed = Date.now() - started;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + random() / 2);
      const delay = waitMs ?? backoff;
      if (attempt >= policy.maxAttempts || elapsed + delay > policy.maxElapsedMs) {
        throw new RequestFailure(
          'exhausted',
          `Graph kept failing GET ${describePath(url)} (${attempt} attempts over ${Math.round(elapsed / 1000)} s${lastFailure ? `; last: ${lastFailure.split('\n')[0]!.slice(0, 200)}` : ''})`,
          -1,
          undefined,
        );
      }
      stats.retries++;
      notify('retry');
      options.logger?.debug({ path: describePath(url), attempt, delayMs: Math.round(delay) }, 'retrying Graph request');
      // A 429 on a reporting endpoint already paused the pacer; the next take() waits.
      if (!(reporting && waitMs !== undefined)) await sleep(delay, options.signal);
    }
  }

  return { get, stats };
}
