// Manual identity links as the operator records them (`accesstrail link`): who linked
// which Metabase account to which Entra person, why, and when it was revoked. Links are
// never deleted: a revoked link stays on record, and correlation reads the links that
// were active at its as-of (loadManualLinks in identity.repository.ts).
import type { Kysely } from 'kysely';

import { AppError } from '../../errors.js';
import type { Database } from '../../store/schema.js';

export interface ManualLinkRecord {
  id: number;
  metabaseSourceId: string;
  accountId: number;
  personId: string;
  createdBy: string;
  reason: string;
  createdAt: Date;
  revokedAt: Date | null;
  revokedBy: string | null;
}

export interface NewManualLink {
  /** Absent: the store's one Metabase source. */
  metabaseSourceId?: string;
  accountId: number;
  personId: string;
  createdBy: string;
  reason: string;
}

export interface AddedManualLink {
  link: ManualLinkRecord;
  /** What the store does not (yet) know of: the link is kept, and applies once it does. */
  unknown: { account: boolean; person: boolean };
}

export function createManualLinkRepository(db: Kysely<Database>) {
  async function metabaseSource(given: string | undefined): Promise<string> {
    const sources = await db.selectFrom('source').select('id').where('kind', '=', 'metabase').orderBy('id').execute();
    if (given) {
      if (!sources.some((s) => s.id === given))
        throw new AppError('USAGE', `no Metabase source "${given}" in the store (${sources.map((s) => s.id).join(', ') || 'none'})`);
      return given;
    }
    if (sources.length === 1) return sources[0]!.id;
    if (sources.length === 0)
      throw new AppError('USAGE', 'the store holds no Metabase source yet: collect from Metabase (or import its exports) first');
    throw new AppError(
      'USAGE',
      `the Metabase source must be named: the store holds ${sources.length} (${sources.map((s) => s.id).join(', ') || 'none'})`,
      { details: { needs: 'metabaseSourceId', sources: sources.map((s) => s.id) } },
    );
  }

  return {
    async add(input: NewManualLink): Promise<AddedManualLink> {
      const sourceId = await metabaseSource(input.metabaseSourceId);
      const row = await db
        .insertInto('manual_identity_link')
        .values({
          metabase_source_id: sourceId,
          account_id: input.accountId,
          person_id: input.personId,
          created_by: input.createdBy,
          reason: input.reason,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const account = await db
        .selectFrom('metabase_account_version')
        .select('upstream_id')
        .where('source_id', '=', sourceId)
        .where('upstream_id', '=', String(input.accountId))
        .limit(1)
        .executeTakeFirst();
      const person = await db
        .selectFrom('entra_user_version')
        .select('upstream_id')
        .where('upstream_id', '=', input.personId)
        .limit(1)
        .executeTakeFirst();
      return { link: toRecord(row), unknown: { account: !account, person: !person } };
    },

    async list(): Promise<ManualLinkRecord[]> {
      const rows = await db.selectFrom('manual_identity_link').selectAll().orderBy('id').execute();
      return rows.map(toRecord);
    },

    /** Revokes an active link; it stays on record with who revoked it and when. */
    async revoke(id: number, by: string, at: Date = new Date()): Promise<void> {
      const result = await db
        .updateTable('manual_identity_link')
        .set({ revoked_at: at, revoked_by: by })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) throw new AppError('NOT_FOUND', `no active manual link ${id}`);
    },
  };
}

function toRecord(row: {
  id: number;
  metabase_source_id: string;
  account_id: number | string;
  person_id: string;
  created_by: string;
  reason: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
  revoked_by: string | null;
}): ManualLinkRecord {
  return {
    id: Number(row.id),
    metabaseSourceId: row.metabase_source_id,
    accountId: Number(row.account_id),
    personId: row.person_id,
    createdBy: row.created_by,
    reason: row.reason,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    revokedBy: row.revoked_by,
  };
}
