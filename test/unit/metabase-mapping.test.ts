// Mapping Metabase rows into evidence: secrets dropped, session ids hashed, service
// accounts never human, malformed values reported.
import { describe, expect, it } from 'vitest';

import {
  isNonHuman,
  mapAccount,
  mapApiKey,
  mapAuditEvent,
  mapAuthIdentity,
  mapGroup,
  mapLogin,
  mapMembership,
  mapQueryExecution,
  mapSession,
  mapView,
  sha256Hex,
} from '../../src/collectors/metabase/mapping.js';
import { eventTables, type EvidenceTableSpec, stateTables } from '../../src/store/tables.js';

const now = new Date('2026-03-10T00:00:00Z');

describe('Metabase mapping', () => {
  it('never looks human for API-key users or the internal user', () => {
    expect(isNonHuman({ id: 7, type: 'api-key', email: 'api-key-user-1@api-key.invalid' })).toBe(true);
    expect(isNonHuman({ id: 7, email: 'API-KEY-USER-1@api-key.invalid ' })).toBe(true); // pre-v49: no type column
    expect(isNonHuman({ id: 13371338, email: 'internal@metabase.com' })).toBe(true);
    expect(isNonHuman({ id: 8, type: 'internal', email: 'x@example.com' })).toBe(true);
    expect(isNonHuman({ id: 9, type: 'personal', email: 'ada@example.com' })).toBe(false);
  });

  it('lower-cases and trims emails and drops credential columns', () => {
    const { record, problems } = mapAccount({
      id: 1,
      email: ' Ada@Example.COM ',
      password: '$2a$10$x',
      password_salt: 's',
      reset_token: 'r',
      totp_secret: 't',
      totp_recovery_codes: 'c',
      is_active: true,
      login_attributes: '{"dept":"ops"}',
    });
    expect(problems).toEqual([]);
    expect(record).toMatchObject({ upstream_id: '1', email: 'ada@example.com', is_human: true, is_active: true });
    expect(Object.keys(record!.raw as object)).not.toEqual(expect.arrayContaining(['password']));
    expect(JSON.stringify(record!.raw)).not.toMatch(/\$2a\$10\$x|"reset_token"|"totp_secret"/);
    expect((record!.raw as { login_attributes: unknown }).login_attributes).toEqual({ dept: 'ops' });
  });

  it('stores the SHA-256 of session ids, never the ids (live tokens before v54)', () => {
    const login = mapLogin(
      {
        id: 4,
        timestamp: new Date('2026-03-01T09:00:00Z'),
        user_id: 2,
        session_id: 'tok-123',
        device_id: 'd',
        device_description: 'ua',
        ip_address: '1.2.3.4',
      },
      now,
    );
    expect(login.record!.session_key).toBe(sha256Hex('tok-123'));
    expect(JSON.stringify(login.record!.raw)).not.toContain('tok-123');
    const session = mapSession(
      { id: 'tok-123', user_id: 2, created_at: new Date('2026-03-01T09:00:00Z'), key_hashed: 'abc', anti_csrf_token: 'csrf' },
      now,
    );
    expect(session.record!.upstream_id).toBe(sha256Hex('tok-123'));
    expect(JSON.stringify(session.record!.raw)).not.toMatch(/tok-123|abc|csrf/);
  });

  it('drops the API key hash and keeps the prefix', () => {
    const { record } = mapApiKey({
      id: 1,
      key: '$2a$12$secret',
      key_prefix: 'mb_AbCd',
      name: 'k',
      user_id: 5,
      creator_id: 1,
      created_at: new Date('2026-01-01T00:00:00Z'),
    });
    expect(record).toMatchObject({ key_prefix: 'mb_AbCd', user_id: 5, creator_id: 1 });
    expect(JSON.stringify(record!.raw)).not.toContain('secret');
  });

  it('reports bad JSON but keeps the event; refuses impossible times', () => {
    const audit = mapAuditEvent({ id: 3, topic: 'card-create', timestamp: new Date('2026-03-01T00:00:00Z'), details: '{oops' }, now);
    expect(audit.record).toBeDefined();
    expect(audit.problems[0]).toMatch(/audit_log\.details is not valid JSON/);
    const reset = mapAuditEvent(
      {
        id: 4,
        topic: 'password-reset-initiated',
        timestamp: new Date('2026-03-01T00:00:00Z'),
        details: '{"token":"$2a$hash","email":"a@b.c"}',
      },
      now,
    );
    expect(JSON.stringify(reset.record!.raw)).not.toContain('$2a$hash');
    expect(mapQueryExecution({ id: 1, started_at: new Date('2030-01-01T00:00:00Z') }, now).problems[0]).toMatch(/in the future/);
    const invalid = mapQueryExecution({ id: 1, started_at: new Date(Number.NaN) }, now);
    expect(invalid.record).toBeUndefined();
    expect(invalid.problems).toEqual(['started_at is not a valid timestamp']);
    const query = mapQueryExecution(
      {
        id: 2,
        started_at: new Date('2026-03-01T00:00:00Z'),
        hash: Buffer.from([0xab, 0xcd]),
        running_time: 12,
        error: 'boom',
        executor_id: null,
      },
      now,
    );
    expect(query.record).toMatchObject({ running_time_ms: 12, has_error: true, executor_id: null });
    expect((query.record!.raw as { hash: string }).hash).toBe('abcd');
  });
});

describe('Metabase mappers and the evidence tables', () => {
  // Most columns keep their Metabase name (sameNamed): a column named wrong in a mapper
  // would be one the table does not have, a forgotten one would be stored as null.
  const columnsOf = (record: Record<string, unknown> | undefined) =>
    Object.keys(record ?? {})
      .filter((key) => !['upstream_id', 'occurred_at', 'raw'].includes(key))
      .sort();
  const tableColumns = (spec: EvidenceTableSpec) => spec.columns.map((column) => column.name).sort();
  const at = '2026-03-01T10:00:00Z';
  it.each([
    ['login', mapLogin({ id: 1, timestamp: at }, now), eventTables.metabase_login],
    ['session', mapSession({ id: 's', created_at: at }, now), eventTables.metabase_session],
    ['auth identity', mapAuthIdentity({ id: 1, created_at: at }, now), eventTables.metabase_auth_identity],
    ['query execution', mapQueryExecution({ id: 1, started_at: at }, now), eventTables.metabase_query_execution],
    ['view', mapView({ id: 1, timestamp: at }, now), eventTables.metabase_view],
    ['audit event', mapAuditEvent({ id: 1, timestamp: at }, now), eventTables.metabase_audit_event],
    ['account', mapAccount({ id: 1 }), stateTables.metabase_account_version],
    ['group', mapGroup({ id: 1 }), stateTables.metabase_group_version],
    ['membership', mapMembership({ id: 1 }), stateTables.metabase_membership_version],
    ['API key', mapApiKey({ id: 1 }), stateTables.metabase_api_key_version],
  ] as const)('a mapped %s has exactly the columns of its table', (_what, mapped, table) => {
    expect(mapped.problems).toEqual([]);
    expect(columnsOf(mapped.record)).toEqual(tableColumns(table));
  });
});
