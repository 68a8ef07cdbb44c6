// Placeholder until the Entra collector lands (issue: Entra collector).
import { AppError } from '../../errors.js';
import type { CollectContext, CollectOptions, SourceSummary } from '../types.js';

export async function collectEntra(_context: CollectContext, _options: CollectOptions): Promise<SourceSummary> {
  throw new AppError('CONFIG_INVALID', 'Entra collection is not available in this build yet');
}
