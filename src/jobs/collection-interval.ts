// Retired: the in-memory interval schedule of `serve` was replaced by durable jobs
// (src/jobs/, ACCESSTRAIL_COLLECT_SCHEDULE). ACCESSTRAIL_COLLECT_INTERVAL_MINUTES still
// works: it becomes the cron expression below.
import { AppError } from '../errors.js';

/** The cron expression of "every N minutes" (N dividing an hour or a day, else rounded to hours). */
export function intervalToCron(minutes: number): string {
  if (minutes < 60) {
    if (60 % minutes !== 0)
      throw new AppError(
        'CONFIG_INVALID',
        'ACCESSTRAIL_COLLECT_INTERVAL_MINUTES must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) or be whole hours; prefer ACCESSTRAIL_COLLECT_SCHEDULE',
      );
    return `*/${minutes} * * * *`;
  }
  if (minutes % 60 !== 0)
    throw new AppError(
      'CONFIG_INVALID',
      'ACCESSTRAIL_COLLECT_INTERVAL_MINUTES must divide an hour or be whole hours; prefer ACCESSTRAIL_COLLECT_SCHEDULE',
    );
  const hours = minutes / 60;
  if (hours >= 24) return '0 0 * * *';
  return hours === 1 ? '0 * * * *' : `0 */${hours} * * *`;
}
