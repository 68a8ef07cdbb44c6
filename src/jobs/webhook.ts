// Outgoing webhook (ACCESSTRAIL_WEBHOOK_URL): a JSON body signed with HMAC-SHA256 under
// ACCESSTRAIL_WEBHOOK_SECRET. The receiver recomputes
//   hex(HMAC-SHA256(secret, `${x-accesstrail-timestamp}.${raw body}`))
// and compares it with x-accesstrail-signature (`sha256=<hex>`) in constant time, and
// rejects timestamps too far from its clock (replays). Deliveries are jobs, so a receiver
// that is down gets them later (retried with exponential backoff, durably).
import { createHmac, randomUUID } from 'node:crypto';

import { AppError } from '../errors.js';

export type WebhookEventType = 'report.ready' | 'collection.failing' | 'evidence.expiring' | 'evidence.lost';

export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  occurredAt: string;
  data: Record<string, unknown>;
}

export const SIGNATURE_HEADER = 'x-accesstrail-signature';
export const TIMESTAMP_HEADER = 'x-accesstrail-timestamp';
export const EVENT_HEADER = 'x-accesstrail-event';

export function webhookEvent(type: WebhookEventType, data: Record<string, unknown>, now: Date): WebhookEvent {
  return { id: randomUUID(), type, occurredAt: now.toISOString(), data };
}

export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Sends one event; throws (so the job is retried) unless the receiver answers 2xx. */
export async function deliverWebhook(
  target: { url: string; secret: string },
  event: WebhookEvent,
  now: Date,
  timeoutMs = 10_000,
): Promise<number> {
  const body = JSON.stringify(event);
  const timestamp = String(Math.floor(now.getTime() / 1000));
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signWebhook(target.secret, timestamp, body),
        [TIMESTAMP_HEADER]: timestamp,
        [EVENT_HEADER]: event.type,
        'user-agent': 'accesstrail-webhook',
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // The URL may carry a token in its query: name only its origin.
    throw new AppError('UPSTREAM_UNAVAILABLE', `webhook ${new URL(target.url).origin} unreachable: ${(error as Error).message}`);
  }
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new AppError('UPSTREAM_UNAVAILABLE', `webhook ${new URL(target.url).origin} answered ${response.status}`);
  return response.status;
}
