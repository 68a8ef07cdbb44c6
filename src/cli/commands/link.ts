// Manual identity links: an operator's decision, recorded with who and why, and never
// overridden by automatic linking.
import type { Command } from 'commander';

import { AppError } from '../../errors.js';
import { say, withStore } from '../context.js';

export function registerLink(program: Command): void {
  const link = program.command('link').description('manual links between Metabase accounts and Entra people');

  link
    .command('add')
    .description('link a Metabase account to an Entra person (object id)')
    .requiredOption('--account <id>', 'Metabase account id (core_user.id)')
    .requiredOption('--person <objectId>', 'Entra user object id')
    .requiredOption('--by <who>', 'who makes the link')
    .requiredOption('--reason <text>', 'why')
    .option('--source <metabaseSourceId>', 'the Metabase source, when the store holds several')
    .action(async (options: { account: string; person: string; by: string; reason: string; source?: string }) => {
      const accountId = Number(options.account);
      if (!Number.isInteger(accountId) || accountId <= 0)
        throw new AppError('USAGE', `--account must be a Metabase account id (got "${options.account}")`);
      await withStore(async ({ store }) => {
        const sources = await store.db.selectFrom('source').select('id').where('kind', '=', 'metabase').execute();
        const sourceId = options.source ?? (sources.length === 1 ? sources[0]!.id : undefined);
        if (!sourceId)
          throw new AppError(
            'USAGE',
            `--source is needed: the store holds ${sources.length} Metabase sources (${sources.map((s) => s.id).join(', ') || 'none'})`,
          );
        const row = await store.db
          .insertInto('manual_identity_link')
          .values({
            metabase_source_id: sourceId,
            account_id: accountId,
            person_id: options.person,
            created_by: options.by,
            reason: options.reason,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        say(`manual link ${row.id}: ${sourceId} account ${accountId} → person ${options.person} (by ${options.by})`);
      });
    });

  link
    .command('list')
    .description('list manual links')
    .action(async () => {
      await withStore(async ({ store }) => {
        const rows = await store.db.selectFrom('manual_identity_link').selectAll().orderBy('id').execute();
        for (const row of rows) {
          say(
            `${row.id}\t${row.metabase_source_id}\t${row.account_id}\t${row.person_id}\t${row.created_by}\t${new Date(row.created_at).toISOString()}\t${row.revoked_at ? `revoked ${new Date(row.revoked_at).toISOString()}` : 'active'}\t${row.reason}`,
          );
        }
        if (rows.length === 0) say('no manual links');
      });
    });

  link
    .command('revoke')
    .description('revoke a manual link (it stays on record)')
    .argument('<id>', 'manual link id')
    .requiredOption('--by <who>', 'who revokes it')
    .action(async (id: string, options: { by: string }) => {
      await withStore(async ({ store }) => {
        const result = await store.db
          .updateTable('manual_identity_link')
          .set({ revoked_at: new Date(), revoked_by: options.by })
          .where('id', '=', Number(id))
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) throw new AppError('NOT_FOUND', `no active manual link ${id}`);
        say(`manual link ${id} revoked`);
      });
    });
}
