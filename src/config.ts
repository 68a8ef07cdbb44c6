// The one reader of the environment (and of a `.env` file in the working directory).
// Parsed once into a frozen object; a bad value stops the command with one line that
// names the variable and what is wrong, never the value (it may be a secret).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';

import { AppError } from './errors.js';

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const guidList = commaList.pipe(
  z.array(
    z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be GUIDs separated by commas'),
  ),
);

function url(protocols: readonly string[], what: string) {
  return optionalText.pipe(
    z
      .string()
      .refine((value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, `must be ${what}`)
      .optional(),
  );
}

const positiveInt = (fallback: number) =>
  optionalText
    .pipe(z.coerce.number<string | undefined>().int('must be a whole number').positive('must be positive').optional())
    .transform((v) => v ?? fallback);

const environmentSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'a postgres:// connection string'),
  ACCESSTRAIL_DATA_DIR: optionalText.transform((v) => v ?? './.accesstrail'),
  /** Months of evidence kept in the store; older monthly partitions are archived to files
   *  (docs/operations.md, Evidence retention). Unset: kept forever. */
  ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: optionalText.pipe(
    z.coerce.number<string | undefined>().int('must be a whole number of months').positive('must be positive').optional(),
  ),
  /** Where archived partitions are written (default <data dir>/archive). */
  ACCESSTRAIL_ARCHIVE_DIR: optionalText,
  AZURE_TENANT_ID: optionalText.pipe(
    z
      .string()
      .regex(/^[0-9a-zA-Z.-]+$/, 'must be a tenant id or domain (letters, digits, dots, hyphens)')
      .optional(),
  ),
  AZURE_CLIENT_ID: optionalText,
  AZURE_CLIENT_SECRET: optionalText,
  AZURE_CLIENT_CERTIFICATE_PATH: optionalText,
  AZURE_CLIENT_CERTIFICATE_PASSWORD: optionalText,
  AZURE_AUTHORITY_HOST: url(['https:'], 'an https:// URL').transform((v) => v ?? 'https://login.microsoftonline.com'),
  GRAPH_BASE_URL: url(['https:'], 'an https:// URL').transform((v) => v ?? 'https://graph.microsoft.com'),
  ENTRA_METABASE_APP_IDS: guidList,
  ENTRA_LOG_RETENTION_DAYS: positiveInt(30),
  ENTRA_ADMIN_GROUP_IDS: guidList,
  /** Pace of Graph's reporting APIs per app and tenant (documented limit: 5 per 10 s). */
  ENTRA_REPORTING_REQUESTS_PER_10S: positiveInt(5),
  METABASE_DB_URL: url(['postgres:', 'postgresql:', 'mysql:', 'mariadb:'], 'a postgres:// or mysql:// connection string'),
  METABASE_URL: url(['http:', 'https:'], 'an http(s):// URL'),
  METABASE_API_KEY: optionalText,
  /** The value of MB_AUDIT_MAX_RETENTION_DAYS on the Metabase server (0 = keep forever), when known. */
  METABASE_AUDIT_MAX_RETENTION_DAYS: optionalText.pipe(
    z.coerce.number<string | undefined>().int('must be a whole number').min(0, 'must be 0 or more').optional(),
  ),
  ACCESSTRAIL_API_KEYS_BOOTSTRAP: optionalText,
  /** Deprecated: `serve` collects every so many minutes (becomes a cron schedule; ACCESSTRAIL_COLLECT_SCHEDULE wins). */
  ACCESSTRAIL_COLLECT_INTERVAL_MINUTES: optionalText.pipe(
    z.coerce.number<string | undefined>().int('must be a whole number').positive('must be positive').optional(),
  ),
  // --- the web console (docs/console.md) and Entra-issued API tokens ---
  /** The console's Entra app registration (OpenID Connect, authorization code + PKCE). */
  ACCESSTRAIL_UI_CLIENT_ID: optionalText,
  ACCESSTRAIL_UI_CLIENT_SECRET: optionalText,
  /** PEM file with the console app's certificate and private key (instead of a secret). */
  ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH: optionalText,
  /** Where people reach the console (redirect URI = <this>/auth/callback); https turns on Secure cookies. */
  ACCESSTRAIL_PUBLIC_URL: url(['http:', 'https:'], 'an http(s):// URL'),
  /** Entra app role values (or group object ids) that make a viewer, reviewer, admin. */
  /** Console roles: `viewer=<app role or group id>,reviewer=…,admin=…`; a role may repeat
   *  (`viewer=Auditor,viewer=<group id>`). Unset: the app roles Console.Viewer,
   *  Console.Reviewer and Console.Admin. */
  ACCESSTRAIL_UI_ROLES: commaList.pipe(
    z.array(z.string().regex(/^(viewer|reviewer|admin)=\S+$/, 'must be entries like viewer=Auditor,reviewer=Compliance,admin=<group id>')),
  ),
  ACCESSTRAIL_UI_SESSION_HOURS: positiveInt(8),
  /** Audience of Entra access tokens accepted on the API (accesstrail's application id URI). */
  ACCESSTRAIL_API_AUDIENCE: optionalText,
  /** Also accepted as audience: the API app's client id (Entra v2 access tokens carry it). */
  ACCESSTRAIL_API_CLIENT_ID: optionalText,
  /** json | pretty | auto (pretty on a terminal, JSON otherwise): see src/logger.ts. */
  ACCESSTRAIL_LOG_FORMAT: optionalText.pipe(z.enum(['json', 'pretty', 'auto']).optional()).transform((v) => v ?? 'auto'),
  /** Cron expression (5 fields, UTC) of `serve`'s scheduled collection; default hourly; `off` disables it. */
  ACCESSTRAIL_COLLECT_SCHEDULE: optionalText.pipe(
    z
      .string()
      .refine(
        (value) => value === 'off' || value.split(/\s+/).length === 5 || value.split(/\s+/).length === 6,
        'must be a cron expression (5 fields, such as "0 * * * *") or off',
      )
      .optional(),
  ),
  /** Hours after a quarter closes before its reports are built (late Entra events). */
  ACCESSTRAIL_REPORT_SETTLE_HOURS: optionalText
    .pipe(z.coerce.number<string | undefined>().min(0, 'must be zero or more').optional())
    .transform((v) => v ?? 6),
  /** Consecutive failed collections of a source before the webhook is told. */
  ACCESSTRAIL_ALERT_AFTER_FAILURES: positiveInt(3),
  ACCESSTRAIL_WEBHOOK_URL: url(['http:', 'https:'], 'an http(s):// URL'),
  ACCESSTRAIL_WEBHOOK_SECRET: optionalText,
  ACCESSTRAIL_LOG_LEVEL: optionalText
    .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional())
    .transform((v) => v ?? 'info'),
  PORT: optionalText
    .pipe(
      z.coerce
        .number<string | undefined>()
        .int('must be a whole number')
        .min(0, 'must be a port number')
        .max(65535, 'must be a port number')
        .optional(),
    )
    .transform((v) => v ?? 8080),
  HOST: optionalText.transform((v) => v ?? '127.0.0.1'),
});

export type Config = Readonly<
  z.infer<typeof environmentSchema> & {
    /** ACCESSTRAIL_UI_ROLES by console role: the app role values or group ids of each. */
    consoleRoles: Readonly<Record<'viewer' | 'reviewer' | 'admin', readonly string[]>>;
    /** ACCESSTRAIL_RULE_<RULE>_<PARAM> values, as written (rules parse them). */
    ruleParameters: Readonly<Record<string, string>>;
    dataDir: string;
    /** ACCESSTRAIL_ARCHIVE_DIR resolved, or <dataDir>/archive. */
    archiveDir: string;
  }
>;

export function readEnvironment(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Record<string, string | undefined> {
  const dotenvPath = path.join(cwd, '.env');
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  // The real environment wins over the file.
  return { ...fromFile, ...env };
}

/** compose, Kubernetes and systemd pass unset variables as empty strings: empty means unset. */
function withoutEmptyValues(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
}

export function parseConfig(rawEnv: Record<string, string | undefined>, cwd: string = process.cwd()): Config {
  const env = withoutEmptyValues(rawEnv);
  const result = environmentSchema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new AppError('CONFIG_INVALID', `${variable} ${issue.message}`);
  }
  const ruleParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('ACCESSTRAIL_RULE_') && value !== undefined) ruleParameters[name] = value;
  }
  const parsed = result.data;
  if (parsed.ACCESSTRAIL_WEBHOOK_URL && !parsed.ACCESSTRAIL_WEBHOOK_SECRET) {
    throw new AppError(
      'CONFIG_INVALID',
      'ACCESSTRAIL_WEBHOOK_SECRET is not set (needed with ACCESSTRAIL_WEBHOOK_URL: every delivery is signed with it)',
    );
  }
  if (parsed.AZURE_CLIENT_CERTIFICATE_PATH && !existsSync(path.resolve(cwd, parsed.AZURE_CLIENT_CERTIFICATE_PATH))) {
    throw new AppError('CONFIG_INVALID', 'AZURE_CLIENT_CERTIFICATE_PATH names a file that does not exist');
  }
  if (parsed.ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH && !existsSync(path.resolve(cwd, parsed.ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH))) {
    throw new AppError('CONFIG_INVALID', 'ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH names a file that does not exist');
  }
  return Object.freeze({
    ...parsed,
    consoleRoles: Object.freeze(consoleRoles(parsed.ACCESSTRAIL_UI_ROLES)),
    ruleParameters: Object.freeze(ruleParameters),
    dataDir: path.resolve(cwd, parsed.ACCESSTRAIL_DATA_DIR),
    archiveDir: path.resolve(cwd, parsed.ACCESSTRAIL_ARCHIVE_DIR ?? path.join(parsed.ACCESSTRAIL_DATA_DIR, 'archive')),
  });
}

function consoleRoles(entries: readonly string[]): Record<'viewer' | 'reviewer' | 'admin', string[]> {
  if (entries.length === 0) return { viewer: ['Console.Viewer'], reviewer: ['Console.Reviewer'], admin: ['Console.Admin'] };
  const roles: Record<'viewer' | 'reviewer' | 'admin', string[]> = { viewer: [], reviewer: [], admin: [] };
  for (const entry of entries) {
    const [role, value] = entry.split('=', 2) as ['viewer' | 'reviewer' | 'admin', string];
    roles[role].push(value);
  }
  return roles;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  return parseConfig(readEnvironment(env, cwd), cwd);
}

/** For commands that need a setting: one line naming what is missing. */
export function requireSetting<K extends keyof Config>(config: Config, name: K, why: string): NonNullable<Config[K]> {
  const value = config[name];
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw new AppError('CONFIG_INVALID', `${String(name)} is not set (${why})`);
  }
  return value as NonNullable<Config[K]>;
}
