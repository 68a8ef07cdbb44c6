// Small builders for evidence rows and correlation runs used across tests.
import type { Kysely } from 'kysely';

import type { Database } from '../../src/store/schema.js';
import type { EventRecord, StateRecord } from '../../src/store/tables.js';

export function signInRecord(overrides: Partial<Record<string, unknown>> & { id: string; at: string }): EventRecord {
  const raw = {
    id: overrides.id,
    createdDateTime: overrides.at,
    userId: overrides['userId'] ?? 'u-1',
    userPrincipalName: overrides['upn'] ?? 'ada@example.com',
    appId: overrides['appId'] ?? 'app-1',
    ipAddress: overrides['ip'] ?? '203.0.113.7',
    status: { errorCode: overrides['errorCode'] ?? 0 },
    ...(overrides['extra'] as object | undefined),
  };
  return {
    upstream_id: overrides.id,
    occurred_at: new Date(overrides.at),
    raw,
    user_id: raw.userId,
    user_principal_name: raw.userPrincipalName,
    app_id: raw.appId,
    ip_address: raw.ipAddress,
    error_code: raw.status.errorCode,
    is_interactive: true,
    event_types: ['interactiveUser'],
    graph_version: 'beta',
  };
}

export function userRecord(id: string, upn: string, extra: Record<string, unknown> = {}): StateRecord {
  return {
    upstream_id: id,
    raw: { id, userPrincipalName: upn, accountEnabled: true, ...extra },
    user_principal_name: upn,
    account_enabled: extra['accountEnabled'] ?? true,
    other_mails: extra['otherMails'] ?? [],
  };
}

/** A correlation run row as correlate() leaves it, for tests that write its findings by
 *  hand (a quarter's period; succeeded and current unless told otherwise). */
export async function insertCorrelationRun(
  db: Kysely<Database>,
  options: { status?: 'succeeded' | 'failed' | 'running'; finishedAt?: Date | string | null; purpose?: 'current' | 'report' } = {},
): Promise<number> {
  const row = await db
    .insertInto('correlation_run')
    .values({
      period_from: '2026-04-01T00:00:00Z',
      period_to: '2026-07-01T00:00:00Z',
      as_of: '2026-07-01T00:00:00Z',
      parameters: '{}',
      status: options.status ?? 'succeeded',
      finished_at: options.finishedAt === undefined ? new Date() : options.finishedAt,
      summary: '{}',
      purpose: options.purpose ?? 'current',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
