import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseConfig, readEnvironment, requireSetting } from '../../src/config.js';
import { AppError } from '../../src/errors.js';

function errorOf(env: Record<string, string>): AppError {
  try {
    parseConfig(env);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('./.accesstrail'));
    expect(config.AZURE_AUTHORITY_HOST).toBe('https://login.microsoftonline.com');
    expect(config.GRAPH_BASE_URL).toBe('https://graph.microsoft.com');
    expect(config.ENTRA_LOG_RETENTION_DAYS).toBe(30);
    expect(config.ENTRA_METABASE_APP_IDS).toEqual([]);
    expect(config.PORT).toBe(8080);
    expect(config.HOST).toBe('127.0.0.1');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses lists and rule parameters', () => {
    const config = parseConfig({
      ENTRA_METABASE_APP_IDS: ' 11111111-1111-1111-1111-111111111111 , 22222222-2222-2222-2222-222222222222',
      ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS: '60',
    });
    expect(config.ENTRA_METABASE_APP_IDS).toHaveLength(2);
    expect(config.ruleParameters).toEqual({ ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS: '60' });
  });

  it.each([
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL must be a postgres:// connection string'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL must be a postgres:// connection string'],
    [{ AZURE_AUTHORITY_HOST: 'http://localhost:1' }, 'AZURE_AUTHORITY_HOST must be an https:// URL'],
    [{ GRAPH_BASE_URL: 'ftp://graph' }, 'GRAPH_BASE_URL must be an https:// URL'],
    [{ AZURE_TENANT_ID: 'contoso tenant!' }, 'AZURE_TENANT_ID must be a tenant id or domain'],
    [{ ENTRA_METABASE_APP_IDS: 'metabase' }, 'ENTRA_METABASE_APP_IDS must be GUIDs separated by commas'],
    [{ ENTRA_ADMIN_GROUP_IDS: '1234' }, 'ENTRA_ADMIN_GROUP_IDS must be GUIDs separated by commas'],
    [{ ENTRA_LOG_RETENTION_DAYS: 'thirty' }, 'ENTRA_LOG_RETENTION_DAYS'],
    [{ ENTRA_LOG_RETENTION_DAYS: '-7' }, 'ENTRA_LOG_RETENTION_DAYS must be positive'],
    [{ METABASE_DB_URL: 'http://metabase' }, 'METABASE_DB_URL must be a postgres:// or mysql:// connection string'],
    [{ METABASE_URL: 'metabase.example.com' }, 'METABASE_URL must be an http(s):// URL'],
    [{ PORT: '99999' }, 'PORT must be a port number'],
    [{ ACCESSTRAIL_LOG_LEVEL: 'loud' }, 'ACCESSTRAIL_LOG_LEVEL'],
    [{ AZURE_CLIENT_CERTIFICATE_PATH: '/nonexistent/cert.pem' }, 'AZURE_CLIENT_CERTIFICATE_PATH names a file that does not exist'],
  ])('rejects %j with a line naming the variable', (env, expected) => {
    const error = errorOf(env as Record<string, string>);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(expected);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('never repeats a secret value in its messages', () => {
    const error = errorOf({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(error.message).not.toContain('hunter2');
  });

  it('names a required setting that is missing', () => {
    const config = parseConfig({});
    expect(() => requireSetting(config, 'ENTRA_METABASE_APP_IDS', 'needed to collect sign-ins')).toThrow(
      'ENTRA_METABASE_APP_IDS is not set (needed to collect sign-ins)',
    );
  });

  it('reads a .env file, and the environment wins over it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'accesstrail-env-'));
    writeFileSync(path.join(dir, '.env'), 'PORT=9000\nHOST=0.0.0.0\n');
    const env = readEnvironment({ HOST: '127.0.0.2' }, dir);
    const config = parseConfig(env, dir);
    expect(config.PORT).toBe(9000);
    expect(config.HOST).toBe('127.0.0.2');
  });
});
