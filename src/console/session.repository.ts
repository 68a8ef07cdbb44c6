// Console sessions and sign-ins in progress, in the store (migration 0007; tables in src/store/schema.ts). The cookie
// holds a random 256-bit id; the table holds only its SHA-256, so reading the table
// (a backup, a replica) gives no way to sign in. A session ends at sign-out or expiry.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import type { Kysely } from 'kysely';

import type { Database } from '../store/schema.js';

export type ConsoleRole = 'viewer' | 'reviewer' | 'admin';

export interface ConsoleSession {
  subject: string;
  displayName: string | null;
  username: string | null;
  role: ConsoleRole;
  csrfToken: string;
  expiresAt: Date;
}

export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

const SIGN_IN_LIFETIME_MS = 10 * 60_000;
// last_seen_at is written at most this often, so reading pages does not write every time.
const LAST_SEEN_RESOLUTION_MS = 60_000;

export function newOpaqueId(): string {
  return randomBytes(32).toString('base64url');
}

function hashId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** Constant-time comparison of two tokens (CSRF). */
export function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** How long a finished (expired or signed-out) session row is kept. */
export const SESSION_KEEP_DAYS = 30;

export function createSessionRepository(db: Kysely<Database>, now: () => Date) {
  return {
    async create(input: {
      subject: string;
      tenantId: string | null;
      displayName: string | null;
      username: string | null;
      role: ConsoleRole;
      lifetimeHours: number;
    }): Promise<{ id: string; session: ConsoleSession }> {
      const id = newOpaqueId();
      const csrfToken = newOpaqueId();
      const expiresAt = new Date(now().getTime() + input.lifetimeHours * 3_600_000);
      // Sessions expired or ended more than SESSION_KEEP_DAYS ago are deleted on the way:
      // until then they answer "who used the console when"; after, they are clutter.
      const keepAfter = new Date(now().getTime() - SESSION_KEEP_DAYS * 86_400_000);
      await db
        .deleteFrom('console_session')
        .where((eb) => eb.or([eb('expires_at', '<', keepAfter), eb('ended_at', '<', keepAfter)]))
        .execute();
      await db
        .insertInto('console_session')
        .values({
          id_sha256: hashId(id),
          subject: input.subject,
          tenant_id: input.tenantId,
          display_name: input.displayName,
          username: input.username,
          role: input.role,
          csrf_token: csrfToken,
          created_at: now(),
          last_seen_at: now(),
          expires_at: expiresAt,
          ended_at: null,
        })
        .execute();
      return {
        id,
        session: {
          subject: input.subject,
          displayName: input.displayName,
          username: input.username,
          role: input.role,
          csrfToken,
          expiresAt,
        },
      };
    },

    /** The live session for a cookie value; undefined when unknown, ended or expired. */
    async find(id: string): Promise<ConsoleSession | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
      const row = await db
        .selectFrom('console_session')
        .selectAll()
        .where('id_sha256', '=', hashId(id))
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const at = now();
      if (new Date(row.expires_at).getTime() <= at.getTime()) return undefined;
      if (at.getTime() - new Date(row.last_seen_at).getTime() >= LAST_SEEN_RESOLUTION_MS) {
        await db.updateTable('console_session').set({ last_seen_at: at }).where('id_sha256', '=', row.id_sha256).execute();
      }
      return {
        subject: row.subject,
        displayName: row.display_name,
        username: row.username,
        role: row.role,
        csrfToken: row.csrf_token,
        expiresAt: new Date(row.expires_at),
      };
    },

    async end(id: string): Promise<void> {
      await db
        .updateTable('console_session')
        .set({ ended_at: now() })
        .where('id_sha256', '=', hashId(id))
        .where('ended_at', 'is', null)
        .execute();
    },

    async startSignIn(pending: PendingSignIn): Promise<string> {
      const id = newOpaqueId();
      // Sign-ins abandoned long ago are cleared on the way.
      await db.deleteFrom('console_sign_in').where('expires_at', '<', now()).execute();
      await db
        .insertInto('console_sign_in')
        .values({
          id_sha256: hashId(id),
          state: pending.state,
          nonce: pending.nonce,
          code_verifier: pending.codeVerifier,
          return_to: pending.returnTo,
          created_at: now(),
          expires_at: new Date(now().getTime() + SIGN_IN_LIFETIME_MS),
        })
        .execute();
      return id;
    },

    /** Takes the sign-in in progress (single use: it is deleted). */
    async takeSignIn(id: string): Promise<PendingSignIn | undefined> {
      if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
      const row = await db.deleteFrom('console_sign_in').where('id_sha256', '=', hashId(id)).returningAll().executeTakeFirst();
      if (!row || new Date(row.expires_at).getTime() <= now().getTime()) return undefined;
      return { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier, returnTo: row.return_to };
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
