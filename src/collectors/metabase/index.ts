// Placeholder until the Metabase collector lands (issue: Metabase collector).
import { AppError } from '../../errors.js';
import type { CollectContext, CollectOptions, SourceSummary } from '../types.js';

export async function collectMetabase(_context: CollectContext, _options: CollectOptions): Promise<SourceSummary> {
  throw new AppError('CONFIG_INVALID', 'Metabase collection is not available in this build yet');
}
