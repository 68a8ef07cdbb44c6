import { AppError } from '../errors.js';

/** Parses an ISO-8601 instant given on the command line; a date alone means 00:00 UTC. */
export function parseInstant(option: string, value: string): Date {
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const date = new Date(hasZone ? text : `${text}Z`);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(date.getTime())) {
    throw new AppError(
      'USAGE',
      `${option} must be an ISO-8601 date or instant, such as 2026-07-01 or 2026-07-01T00:00:00Z (got "${value}")`,
    );
  }
  return date;
}

/** Runs `work`; a usage error it throws or rejects with (worded by a lower layer, which
 *  knows nothing of flags) is said again with the option the user gave, as in
 *  `--period: …`. */
export function withOption<T>(option: string, work: () => T): T {
  const restate = (error: unknown): never => {
    if (error instanceof AppError && error.code === 'USAGE') throw new AppError('USAGE', `${option}: ${error.message}`, { cause: error });
    throw error;
  };
  try {
    const result = work();
    return (result instanceof Promise ? result.catch(restate) : result) as T;
  } catch (error) {
    return restate(error);
  }
}
