import type { Command } from 'commander';

import { API_SCOPES, type ApiKeyInfo, createApiKeyRepository, parseScopes } from '../../api/api-keys.js';
import { AppError } from '../../errors.js';
import { registerList, say, withStore } from '../context.js';
import { withOption } from '../options.js';

function describeKey(key: ApiKeyInfo, now = new Date()): string {
  const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
  const used = key.lastUsedAt ? `last used ${key.lastUsedAt.toISOString()}` : 'never used';
  const expiry = !key.expiresAt
    ? 'no expiry'
    : key.expiresAt.getTime() <= now.getTime()
      ? `expired ${key.expiresAt.toISOString()}`
      : `expires ${key.expiresAt.toISOString()}`;
  return `${key.id}  ${key.prefix}…  ${key.name}  [${key.scopes.join(',')}]  created ${key.createdAt.toISOString()}  ${used}  ${expiry}  ${state}`;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys for GRC tools (only their SHA-256 is stored)');

  keys
    .command('create')
    .description('create an API key and print it once')
    .requiredOption('--name <name>', 'what the key is for (e.g. the GRC tool)')
    .requiredOption('--scopes <scopes>', `comma-separated: ${API_SCOPES.join(', ')} (admin implies all)`)
    .option('--expires-in-days <days>', 'refuse the key after this many days (default: no expiry)')
    .action(async (options: { name: string; scopes: string; expiresInDays?: string }) => {
      const scopes = withOption('--scopes', () => parseScopes(options.scopes));
      let expiresAt: Date | undefined;
      if (options.expiresInDays !== undefined) {
        const days = Number(options.expiresInDays);
        if (!Number.isInteger(days) || days <= 0)
          throw new AppError('USAGE', `--expires-in-days must be a whole number of days above 0 (got "${options.expiresInDays}")`);
        expiresAt = new Date(Date.now() + days * 86_400_000);
      }
      await withStore(async ({ store }) => {
        const { key, info } = await withOption('--name/--scopes', () =>
          createApiKeyRepository(store.db).create({ name: options.name, scopes, ...(expiresAt ? { expiresAt } : {}) }),
        );
        say(key);
        const expiry = info.expiresAt ? `, expires ${info.expiresAt.toISOString()}` : '';
        process.stderr.write(
          `created API key ${info.id} (${info.name}, scopes ${info.scopes.join(',')}${expiry}); it is shown only this once, store it now\n`,
        );
      });
    });

  registerList(keys, {
    description: 'list API keys (id, prefix, name, scopes, use, expiry, state)',
    load: (store) => createApiKeyRepository(store.db).list(),
    describe: (key) => describeKey(key),
    none: 'no API keys',
  });

  keys
    .command('revoke')
    .description('revoke an API key by id; it is refused from then on')
    .argument('<id>', 'the key id shown by `keys list`')
    .action(async (id: string) => {
      await withStore(async ({ store }) => {
        const key = await createApiKeyRepository(store.db).revoke(id);
        say(`revoked ${describeKey(key)}`);
      });
    });
}
