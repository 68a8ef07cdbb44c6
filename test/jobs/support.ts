// Shared by the job tests: the Entra emulator's configuration, a webhook receiver that
// checks signatures, and waiting for the queue.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { sql } from 'kysely';

import type { EntraTuning } from '../../src/collectors/entra/index.js';
import type { EntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
} from '../../src/emulators/entra/sample.js';
import { JOB_SCHEMA } from '../../src/jobs/system.js';
import type { WebhookEvent } from '../../src/jobs/webhook.js';
import type { Store } from '../../src/store/database.js';

export function entraEnv(emulator: EntraEmulator): Record<string, string> {
  return {
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
    AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    GRAPH_BASE_URL: emulator.graphBaseUrl,
    ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
    ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
  };
}

export const fastEntra = (emulator: EntraEmulator): EntraTuning => ({
  tlsCa: emulator.caCertificatePem,
  reportingLimit: null,
  retry: { baseDelayMs: 5, maxDelayMs: 100, maxElapsedMs: 20_000, maxAttempts: 12 },
  requestTimeoutMs: 10_000,
});

export interface Received {
  event: WebhookEvent;
  signatureValid: boolean;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Answer this many deliveries with 503 first (retries). */
  failNext(count: number): void;
  close(): Promise<void>;
}

/** A receiver as a customer would write it: recompute the HMAC over timestamp.body. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let failures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-accesstrail-timestamp'] ?? '');
      const signature = String(req.headers['x-accesstrail-signature'] ?? '');
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
      const signatureValid = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
      received.push({ event: JSON.parse(body) as WebhookEvent, signatureValid });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`,
    received,
    failNext(count) {
      failures = count;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Polls until `check` returns something truthy (a bound, not a timing assertion). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Jobs of a queue in a state, from pg-boss's own table. */
export async function jobCount(
  store: Store,
  queue: string,
  state: 'created' | 'active' | 'completed' | 'failed' | 'retry' | 'cancelled',
): Promise<number> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from ${sql.table(`${JOB_SCHEMA}.job`)} where name = ${queue} and state = ${state}`.execute(store.db);
  return Number(rows[0]!.n);
}

/** No job waiting or running in any queue. */
export async function queuesIdle(store: Store): Promise<boolean> {
  const { rows } = await sql<{
    n: number;
  }>`select count(*)::int as n from ${sql.table(`${JOB_SCHEMA}.job`)} where state in ('created', 'retry', 'active') and name not like '\\_\\_%'`.execute(
    store.db,
  );
  return Number(rows[0]!.n) === 0;
}
