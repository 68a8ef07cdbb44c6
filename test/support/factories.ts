// Small builders for evidence rows used across tests.
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
