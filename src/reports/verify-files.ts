// Placeholder until report signing lands (issue: reports).
import { AppError } from '../errors.js';

export async function verifyReportFiles(_files: string[]): Promise<void> {
  throw new AppError('USAGE', 'report verification is not available in this build yet');
}
