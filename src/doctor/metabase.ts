// Metabase checks: the application database is reachable, read-only for accesstrail, its
// version and edition detected; the REST API key answers (when METABASE_URL is set); and
// the facts the Entra checks need from Metabase (its site-url, its SSO issuer).
//
// Read-only is proven, not assumed: inside a READ WRITE transaction that is always rolled
// back, UPDATE / DELETE / INSERT … SELECT statements that touch no row are sent to
// core_user. The privilege check happens before any row is looked at, so a user with
// write grants gets them accepted (0 rows, rolled back) and a read-only one gets
// "permission denied" (Postgres 42501, MySQL/MariaDB 1142). The collector's own sessions
// are READ ONLY anyway (app-db.ts); the doctor checks the grants behind them, because a
// read-only session is a client's promise, a missing grant is the server's.
import { type ApiFacts, createMetabaseApiClient, readApiFacts } from '../collectors/metabase/api-reader.js';
import { type AppDb, appDbError, isMissingTable, openAppDb, type Row } from '../collectors/metabase/app-db.js';
import { discover } from '../collectors/metabase/db-reader.js';
import { AppError } from '../errors.js';
import { type Check, fail, pass, skip, warn } from './check.js';

interface DriverError {
  code?: string | number;
  errno?: number;
  message?: string;
}

/** Error codes that mean "this user may not write" (or the server refuses all writes). */
const deniedCodes = new Set([
  '42501',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
]);
/** A read replica / read_only server: writes are impossible for everybody. */
const readOnlyServerCodes = new Set(['25006', 'ER_OPTION_PREVENTS_STATEMENT', 'ER_READ_ONLY_MODE']);

export const writeProbes = [
  { verb: 'UPDATE', sql: (q: (s: string) => string) => `UPDATE ${q('core_user')} SET ${q('is_active')} = ${q('is_active')} WHERE 1 = 0` },
  { verb: 'DELETE', sql: (q: (s: string) => string) => `DELETE FROM ${q('core_user')} WHERE 1 = 0` },
  { verb: 'INSERT', sql: (q: (s: string) => string) => `INSERT INTO ${q('core_user')} SELECT * FROM ${q('core_user')} WHERE 1 = 0` },
] as const;

export interface WriteAttempt {
  verb: string;
  outcome: 'accepted' | 'denied' | 'server-read-only' | 'error';
  message?: string;
}

/** The fix to print for an error, by its code; `otherwise` for any other code. */
function fixFor(error: { code?: string }, fixes: Readonly<Record<string, string>>, otherwise: string): string {
  return (error.code !== undefined ? fixes[error.code] : undefined) ?? otherwise;
}

/** Sends each write probe in its own transaction, rolled back whatever happens. */
export async function attemptWrites(db: AppDb): Promise<WriteAttempt[]> {
  const attempts: WriteAttempt[] = [];
  for (const probe of writeProbes) {
    await db.query(db.dialect === 'postgres' ? 'BEGIN TRANSACTION READ WRITE' : 'START TRANSACTION READ WRITE');
    try {
      await db.query(probe.sql(db.quote));
      attempts.push({ verb: probe.verb, outcome: 'accepted' });
    } catch (error) {
      const e = (error ?? {}) as DriverError;
      const code = String(e.code ?? '');
      attempts.push({
        verb: probe.verb,
        outcome: deniedCodes.has(code) ? 'denied' : readOnlyServerCodes.has(code) ? 'server-read-only' : 'error',
        message: `${code} ${e.message ?? ''}`.trim(),
      });
    } finally {
      await db.query('ROLLBACK').catch(() => undefined);
    }
  }
  return attempts;
}

/** Postgres only: tables of the schema this user may write (grants, as the server sees them). */
async function writableTables(db: AppDb): Promise<string[] | null> {
  if (db.dialect !== 'postgres') return null;
  try {
    const rows = await db.query(
      `select table_name as t from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'
         and (has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'INSERT')
           or has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'UPDATE')
           or has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'DELETE')
           or has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'TRUNCATE'))
       order by table_name`,
    );
    return rows.map((r) => String(r['t']));
  } catch {
    return null;
  }
}

/** Pure: the read-only line from the write attempts (and, on Postgres, the writable tables). */
export function readOnlyCheck(attempts: readonly WriteAttempt[], writable: readonly string[] | null, location: string): Check {
  const name = 'Metabase database is read-only for accesstrail';
  const accepted = attempts.filter((a) => a.outcome === 'accepted').map((a) => a.verb);
  const fix =
    'connect as a user with SELECT only, e.g. Postgres: CREATE ROLE accesstrail_ro LOGIN PASSWORD …; GRANT SELECT ON ALL TABLES IN SCHEMA public TO accesstrail_ro; MySQL/MariaDB: CREATE USER … ; GRANT SELECT ON metabase.* TO … (see docs/metabase.md)';
  if (accepted.length > 0) {
    return fail(
      'metabase',
      name,
      `the METABASE_DB_URL user may change Metabase's database at ${location}: ${accepted.join(', ')} on core_user accepted (touching no row, rolled back)${writable?.length ? `; ${writable.length} table(s) writable` : ''}`,
      fix,
    );
  }
  if (writable && writable.length > 0) {
    return fail(
      'metabase',
      name,
      `the METABASE_DB_URL user holds write grants on ${writable.length} table(s) (${writable.slice(0, 5).join(', ')}${writable.length > 5 ? ', …' : ''})`,
      fix,
    );
  }
  const errors = attempts.filter((a) => a.outcome === 'error');
  if (errors.length > 0)
    return warn(
      'metabase',
      name,
      `could not tell: ${errors.map((e) => `${e.verb}: ${e.message}`).join('; ')}`,
      'check the grants of the METABASE_DB_URL user by hand: it needs SELECT only',
    );
  if (attempts.every((a) => a.outcome === 'server-read-only'))
    return pass('metabase', name, 'the server refuses every write (read replica or read_only server)');
  return pass(
    'metabase',
    name,
    `UPDATE, DELETE and INSERT on core_user are denied to the METABASE_DB_URL user (probed in a rolled-back transaction)`,
  );
}

const settingKeys = [
  'site-url',
  'premium-embedding-token',
  'saml-identity-provider-issuer',
  'saml-identity-provider-uri',
  'oidc-providers',
] as const;
type SettingKey = (typeof settingKeys)[number];

export interface MetabaseSettings {
  /** null when the setting table could not be read (absent, or not granted). */
  values: Partial<Record<SettingKey, string>> | null;
  reason?: string;
}

async function readSettings(db: AppDb): Promise<MetabaseSettings> {
  try {
    const rows: Row[] = await db.query(
      `select ${db.quote('key')} as k, ${db.quote('value')} as v from ${db.quote('setting')} where ${db.quote('key')} in (${settingKeys.map(() => '?').join(', ')})`,
      settingKeys,
    );
    const values: Partial<Record<SettingKey, string>> = {};
    for (const row of rows) {
      const key = String(row['k'] ?? row['K']) as SettingKey;
      const value = row['v'] ?? row['V'];
      if (typeof value === 'string' && value !== '') values[key] = value;
    }
    return { values };
  } catch (error) {
    return {
      values: null,
      reason: isMissingTable(error)
        ? 'there is no setting table'
        : `the setting table is not readable (${(error as DriverError).message ?? 'error'})`,
    };
  }
}

/** Settings are stored encrypted when MB_ENCRYPTION_SECRET_KEY is set: plain values only. */
export function plainSiteUrl(value: string | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? value : null;
  } catch {
    return null;
  }
}

/** Pure: edition from the database (a licence token set) or, better, the API. */
export function editionDetail(settings: MetabaseSettings, api: ApiFacts | null): string {
  if (api?.edition)
    return api.edition === 'enterprise'
      ? `Enterprise build${api.auditApp ? ' with the audit app (Pro/Enterprise licence)' : ''}`
      : 'open source build';
  if (!settings.values) return `edition not detected (${settings.reason ?? 'settings unreadable'})`;
  return settings.values['premium-embedding-token']
    ? 'a licence token is set (Pro/Enterprise)'
    : 'no licence token (open source, or Starter)';
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Pure: Metabase's SSO settings name the configured tenant (SAML issuer
 *  `https://sts.windows.net/<tenant>/`, login URL `https://login.microsoftonline.com/<tenant>/saml2`,
 *  OIDC issuer `…/<tenant>/v2.0`). */
export function ssoTenantCheck(settings: MetabaseSettings, tenantId: string | undefined): Check {
  const name = 'Metabase SSO names this tenant';
  if (!tenantId) return skip('metabase', name, 'AZURE_TENANT_ID is not set');
  if (!settings.values) return skip('metabase', name, `not evaluable: ${settings.reason ?? 'settings unreadable'}`);
  const configured = (['saml-identity-provider-issuer', 'saml-identity-provider-uri', 'oidc-providers'] as const).filter(
    (k) => settings.values![k],
  );
  if (configured.length === 0)
    return skip(
      'metabase',
      name,
      'not evaluable: no SAML/OIDC identity-provider setting in the database (set through environment variables, encrypted, or SSO not configured)',
    );
  const text = configured.map((k) => settings.values![k]!).join(' ');
  const tenants = [...new Set((text.match(GUID) ?? []).map((g) => g.toLowerCase()))];
  if (tenants.length === 0 && !/microsoftonline|windows\.net/i.test(text))
    return skip('metabase', name, 'not evaluable: the identity-provider settings are encrypted or name no Entra tenant');
  if (tenants.includes(tenantId.toLowerCase()) || text.toLowerCase().includes(tenantId.toLowerCase()))
    return pass('metabase', name, `${configured.join(', ')} point at tenant ${tenantId}`);
  return fail(
    'metabase',
    name,
    `${configured.join(', ')} name tenant ${tenants.join(', ') || '(none)'}, not ${tenantId} (tenant mismatch: SSO and collection look at different tenants)`,
    "point Metabase's SAML/OIDC settings at this tenant (Entra app → Single sign-on: Login URL and Microsoft Entra Identifier), or set AZURE_TENANT_ID to the tenant Metabase uses",
  );
}

export interface MetabaseOutcome {
  checks: Check[];
  /** Metabase's own address, from METABASE_URL or the site-url setting. */
  address: { address: string | null; source: string };
}

export async function checkMetabase(config: {
  METABASE_DB_URL?: string | undefined;
  METABASE_URL?: string | undefined;
  METABASE_API_KEY?: string | undefined;
  AZURE_TENANT_ID?: string | undefined;
}): Promise<MetabaseOutcome> {
  const checks: Check[] = [];
  let address: MetabaseOutcome['address'] = config.METABASE_URL
    ? { address: config.METABASE_URL, source: 'METABASE_URL' }
    : { address: null, source: 'METABASE_URL is not set' };
  if (!config.METABASE_DB_URL && !config.METABASE_URL) {
    checks.push(skip('metabase', 'Metabase source', 'neither METABASE_DB_URL nor METABASE_URL is set: Metabase is not collected'));
    return { checks, address };
  }

  let api: ApiFacts | null = null;
  if (config.METABASE_URL) {
    const name = 'Metabase API key answers';
    if (!config.METABASE_API_KEY) {
      checks.push(
        fail(
          'metabase',
          name,
          'METABASE_URL is set but METABASE_API_KEY is not',
          'create an API key in the Administrators group (Admin → Settings → Authentication → API keys) and set METABASE_API_KEY',
        ),
      );
    } else {
      try {
        api = await readApiFacts(createMetabaseApiClient(config.METABASE_URL, config.METABASE_API_KEY));
        checks.push(
          pass(
            'metabase',
            name,
            `${new URL(config.METABASE_URL).host} accepted the key; version ${api.versionTag ?? 'unknown'}, ${editionDetail({ values: {} }, api)}`,
          ),
        );
      } catch (error) {
        const e = error as AppError;
        const fix = fixFor(
          e,
          {
            UPSTREAM_AUTH: 'set METABASE_API_KEY to a current key (Admin → Settings → Authentication → API keys)',
            UPSTREAM_PERMISSION: 'put the API key in the Administrators group',
          },
          'check METABASE_URL and the network path to Metabase',
        );
        checks.push(fail('metabase', name, e.message ?? String(error), fix));
      }
    }
  }

  if (!config.METABASE_DB_URL) {
    checks.push(
      skip(
        'metabase',
        'Metabase database',
        'METABASE_DB_URL is not set: collected through the API only (no login history, sessions, views or audit events)',
      ),
    );
  } else {
    let db: AppDb;
    try {
      db = await openAppDb(config.METABASE_DB_URL);
    } catch (error) {
      const e = error instanceof AppError ? error : appDbError(error, 'METABASE_DB_URL');
      const fix = fixFor(
        e,
        {
          UPSTREAM_AUTH: 'check the user and password in METABASE_DB_URL',
          UPSTREAM_UNAVAILABLE:
            'check the host, port and database name in METABASE_DB_URL, and that this machine may connect (firewall, pg_hba.conf, bind-address)',
        },
        'check METABASE_DB_URL',
      );
      checks.push(fail('metabase', 'Metabase database reachable', e.message, fix));
      checks.push(skip('metabase', 'Metabase database is read-only for accesstrail', 'not evaluable: no connection'));
      checks.push(skip('metabase', 'Metabase version and edition', 'not evaluable: no connection'));
      return { checks, address };
    }
    try {
      checks.push(
        pass('metabase', 'Metabase database reachable', `${db.dialect === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} at ${db.location}`),
      );
      const attempts = await attemptWrites(db);
      checks.push(readOnlyCheck(attempts, await writableTables(db), db.location));
      const settings = await readSettings(db);
      try {
        const discovery = await discover(db);
        const version =
          discovery.changesetVersion !== null
            ? `v${discovery.changesetVersion} (Liquibase changelog)`
            : `v${discovery.inferredVersion} or later (inferred from the tables; the changelog is not readable)`;
        const missing = discovery.missing.length ? `; not in this version: ${discovery.missing.join(', ')}` : '';
        checks.push(pass('metabase', 'Metabase version and edition', `${version}, ${editionDetail(settings, api)}${missing}`));
      } catch (error) {
        const e = error instanceof AppError ? error : appDbError(error, db.location);
        checks.push(
          fail(
            'metabase',
            'Metabase version and edition',
            e.message,
            "grant the METABASE_DB_URL user SELECT on Metabase's tables (see docs/metabase.md)",
          ),
        );
      }
      const siteUrl = plainSiteUrl(settings.values?.['site-url']);
      if (!config.METABASE_URL) {
        address = siteUrl
          ? { address: siteUrl, source: "Metabase's site-url setting" }
          : {
              address: null,
              source: settings.values
                ? settings.values['site-url']
                  ? 'site-url is stored encrypted; set METABASE_URL'
                  : 'METABASE_URL is not set and site-url is empty'
                : `METABASE_URL is not set and ${settings.reason ?? 'the settings are unreadable'}`,
            };
      } else if (siteUrl && siteUrl.replace(/\/+$/, '') !== config.METABASE_URL.replace(/\/+$/, '')) {
        checks.push(
          warn(
            'metabase',
            'Metabase address',
            `METABASE_URL ${config.METABASE_URL} differs from Metabase's site-url ${siteUrl}`,
            'make them agree: SSO callbacks are built from site-url',
          ),
        );
      }
      checks.push(ssoTenantCheck(settings, config.AZURE_TENANT_ID));
    } finally {
      await db.close().catch(() => undefined);
    }
  }
  return { checks, address };
}
