// Manual identity links: an operator's decision, recorded with who and why, and never
// overridden by automatic linking (src/correlation/identity/manual-links.repository.ts).
import type { Command } from 'commander';

import { createManualLinkRepository, type ManualLinkRecord } from '../../correlation/identity/manual-links.repository.js';
import { AppError } from '../../errors.js';
import { registerList, say, withStore } from '../context.js';

function describeLink(link: ManualLinkRecord): string {
  const state = link.revokedAt ? `revoked ${link.revokedAt.toISOString()} by ${link.revokedBy ?? 'unknown'}` : 'active';
  return [
    link.id,
    link.metabaseSourceId,
    link.accountId,
    link.personId,
    link.createdBy,
    link.createdAt.toISOString(),
    state,
    link.reason,
  ].join('\t');
}

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
        const added = await createManualLinkRepository(store.db)
          .add({
            ...(options.source ? { metabaseSourceId: options.source } : {}),
            accountId,
            personId: options.person,
            createdBy: options.by,
            reason: options.reason,
          })
          .catch((error: unknown) => {
            // The repository does not know of flags; the command names its own.
            const sources =
              error instanceof AppError && error.details?.['needs'] === 'metabaseSourceId' ? error.details['sources'] : undefined;
            if (Array.isArray(sources))
              throw new AppError(
                'USAGE',
                `--source is needed: the store holds ${sources.length} Metabase sources (${sources.join(', ') || 'none'})`,
              );
            throw error;
          });
        const { link: row, unknown } = added;
        say(`manual link ${row.id}: ${row.metabaseSourceId} account ${row.accountId} → person ${row.personId} (by ${row.createdBy})`);
        if (unknown.account)
          process.stderr.write(`note: account ${row.accountId} is not in the store yet; the link applies once it is collected\n`);
        if (unknown.person)
          process.stderr.write(`note: person ${row.personId} is not in the store yet; the link applies once Entra users are collected\n`);
      });
    });

  registerList(link, {
    description: 'list manual links',
    load: (store) => createManualLinkRepository(store.db).list(),
    describe: describeLink,
    none: 'no manual links',
  });

  link
    .command('revoke')
    .description('revoke a manual link (it stays on record)')
    .argument('<id>', 'manual link id')
    .requiredOption('--by <who>', 'who revokes it')
    .action(async (id: string, options: { by: string }) => {
      const linkId = Number(id);
      if (!Number.isInteger(linkId) || linkId <= 0) throw new AppError('USAGE', `the link id must be a number (got "${id}")`);
      await withStore(async ({ store }) => {
        await createManualLinkRepository(store.db).revoke(linkId, options.by);
        say(`manual link ${id} revoked`);
      });
    });
}
