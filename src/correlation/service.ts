// The correlation as commands and the API use it: parameters from the configuration.
import type { Kysely } from 'kysely';

import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/schema.js';
import { correlate, type CorrelationResult } from './correlate.js';
import { resolveRuleParameters } from './parameters.js';

export const DEFAULT_LOOKBACK_DAYS = 90;

export async function correlateFromConfig(
  db: Kysely<Database>,
  config: Config,
  window: { from: Date; to: Date; asOf: Date; purpose?: 'current' | 'report'; reuse?: boolean },
  logger?: Logger,
): Promise<CorrelationResult> {
  const parameters = resolveRuleParameters(config.ruleParameters, { adminGroupIds: config.ENTRA_ADMIN_GROUP_IDS });
  return correlate(
    db,
    {
      period: { from: window.from, to: window.to },
      asOf: window.asOf,
      parameters,
      metabaseAppIds: config.ENTRA_METABASE_APP_IDS,
      adminGroupIds: config.ENTRA_ADMIN_GROUP_IDS,
      purpose: window.purpose ?? 'current',
      reuse: window.reuse ?? false,
    },
    logger,
  );
}
