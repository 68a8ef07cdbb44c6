// API keys for GRC tools. A key is `at_` followed by 40 random base62 characters
// (~238 bits); only its SHA-256 is stored, with the first characters kept as a prefix
// so people can tell keys apart in `keys list`. The key itself is shown once, at
// creation, and never logged. A plain SHA-256 (no slow hash) is enough: the key is
// random, not a password, so it cannot be guessed from its hash.
//
// Comparison: the presented key is never compared with a stored secret character by
// character. It is hashed, the row is found by its hash (an index lookup whose timing
// depends on the hash, which tells an attacker nothing about any stored key), and the
// hashes are then compared with timingSafeEqual, so no code path compares secret bytes
// with an early exit.
import { hash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

import { type Kysely, type Selectable, sql } from 'kysely';

import { AppError } from '../errors.js';
import { type ChangeFeed, uncachedFeed } from '../store/change-feed.js';
import type { ApiKeyTable, Database } from '../store/schema.js';

export const API_SCOPES = ['reports:read', 'reports:write', 'findings:read', 'collect:run', 'admin'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = /^at_[0-9A-Za-z]{32,}$/;
const PREFIX_LENGTH = 'at_'.length + 6;
// last_used_at is written at most this often per key, so a busy client does not turn
// every read into a write.
const LAST_USED_RESOLUTION_SECONDS = 60;

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: ApiScope[];
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  /** Refused from this instant on; null: the key does not expire. */
  expiresAt: Date | null;
}

export interface ApiKeyRepository {
  create(input: { name: string; scopes: readonly ApiScope[]; expiresAt?: Date }): Promise<{ key: string; info: ApiKeyInfo }>;
  list(): Promise<ApiKeyInfo[]>;
  revoke(id: string): Promise<ApiKeyInfo>;
  /** The active key matching `key`, with last_used_at brought up to date; undefined when
   *  unknown, revoked or expired (one answer for all three: the caller learns nothing of
   *  which keys exist). */
  authenticate(key: string, now?: Date): Promise<ApiKeyInfo | undefined>;
  /** Creates the bootstrap admin key unless a key with its hash exists. Returns whether it made one. */
  ensureBootstrap(key: string): Promise<boolean>;
}

export function generateApiKey(): string {
  let body = '';
  for (let i = 0; i < 40; i++) body += BASE62[randomInt(BASE62.length)];
  return `at_${body}`;
}

export function hashApiKey(key: string): string {
  // The one-shot hash (Node 20.12), once per API request: 0.27 µs against createHash's 0.82.
  return hash('sha256', key, 'hex');
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

export function parseScopes(text: string): ApiScope[] {
  const scopes = text
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
  if (scopes.length === 0) throw new AppError('USAGE', `an API key needs at least one scope of ${API_SCOPES.join(', ')}`);
  for (const scope of scopes) {
    if (!(API_SCOPES as readonly string[]).includes(scope)) {
      throw new AppError('USAGE', `unknown scope "${scope}": use ${API_SCOPES.join(', ')}`);
    }
  }
  return [...new Set(scopes)] as ApiScope[];
}

/** Constant-time equality of two hex SHA-256 digests. */
export function sameHash(storedHex: string, presentedHex: string): boolean {
  const stored = Buffer.from(storedHex, 'hex');
  const presented = Buffer.from(presentedHex, 'hex');
  return stored.length === 32 && presented.length === 32 && timingSafeEqual(stored, presented);
}

/** `admin` implies every scope. */
export function hasScope(granted: readonly ApiScope[], needed: ApiScope): boolean {
  return granted.includes('admin') || granted.includes(needed);
}

const columns = ['id', 'name', 'key_prefix', 'scopes', 'created_at', 'revoked_at', 'last_used_at', 'expires_at'] as const;

function toInfo(row: Pick<Selectable<ApiKeyTable>, (typeof columns)[number]>): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    prefix: row.key_prefix,
    scopes: row.scopes as ApiScope[],
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
  };
}

/** `changes`: the service's change feed, which keeps a key found by its hash in memory
 *  until a statement changes api_key (migration 0016); without it every check reads. */
export function createApiKeyRepository(db: Kysely<Database>, changes: ChangeFeed = uncachedFeed()): ApiKeyRepository {
  async function insert(key: string, name: string, scopes: readonly ApiScope[], expiresAt: Date | null = null): Promise<ApiKeyInfo> {
    const row = await db
      .insertInto('api_key')
      .values({
        id: `key_${randomBytes(6).toString('hex')}`,
        name,
        key_sha256: hashApiKey(key),
        key_prefix: key.slice(0, PREFIX_LENGTH),
        scopes: [...scopes],
        expires_at: expiresAt,
      })
      .returning(columns)
      .executeTakeFirstOrThrow();
    return toInfo(row);
  }

  return {
    async create({ name, scopes, expiresAt }) {
      const trimmed = name.trim();
      if (trimmed === '') throw new AppError('USAGE', 'an API key needs a name (what it is for)');
      if (scopes.length === 0) throw new AppError('USAGE', `an API key needs at least one scope of ${API_SCOPES.join(', ')}`);
      if (expiresAt && !(expiresAt.getTime() > Date.now()))
        throw new AppError('USAGE', `an API key's expiry must be in the future (got ${expiresAt.toISOString()})`);
      const key = generateApiKey();
      return { key, info: await insert(key, trimmed, scopes, expiresAt ?? null) };
    },

    async list() {
      const rows = await db.selectFrom('api_key').select(columns).orderBy('created_at').orderBy('id').execute();
      return rows.map(toInfo);
    },

    async revoke(id) {
      const row = await db
        .updateTable('api_key')
        .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
        .where('id', '=', id)
        .returning(columns)
        .executeTakeFirst();
      changes.invalidate('api_key');
      if (!row) throw new AppError('NOT_FOUND', `no API key with id ${id}`);
      return toInfo(row);
    },

    async authenticate(key, now = new Date()) {
      if (!isWellFormedApiKey(key)) return undefined;
      const presented = hashApiKey(key);
      // Kept by its hash (never the key); an unknown key is not kept, so it reads each time.
      const row = await changes.cached('api_key', presented, () =>
        db
          .selectFrom('api_key')
          .select([...columns, 'key_sha256'])
          .where('key_sha256', '=', presented)
          .where('revoked_at', 'is', null)
          .executeTakeFirst(),
      );
      if (!row || !sameHash(row.key_sha256, presented)) return undefined;
      if (row.expires_at && new Date(row.expires_at).getTime() <= now.getTime()) return undefined;
      const lastUsed = row.last_used_at ? new Date(row.last_used_at).getTime() : 0;
      if (now.getTime() - lastUsed >= LAST_USED_RESOLUTION_SECONDS * 1000) {
        await db.updateTable('api_key').set({ last_used_at: now }).where('id', '=', row.id).execute();
        row.last_used_at = now;
      }
      return toInfo(row);
    },

    async ensureBootstrap(key) {
      if (!isWellFormedApiKey(key)) {
        throw new AppError(
          'CONFIG_INVALID',
          'ACCESSTRAIL_API_KEYS_BOOTSTRAP must be at_ followed by at least 32 letters or digits (make one with `accesstrail keys create` or any random generator)',
        );
      }
      const existing = await db.selectFrom('api_key').select('id').where('key_sha256', '=', hashApiKey(key)).executeTakeFirst();
      if (existing) return false;
      // Two processes starting at once: the unique hash makes the second insert fail harmlessly.
      try {
        await insert(key, 'bootstrap', ['admin']);
        return true;
      } catch (error) {
        const again = await db.selectFrom('api_key').select('id').where('key_sha256', '=', hashApiKey(key)).executeTakeFirst();
        if (again) return false;
        throw error;
      }
    },
  };
}
