// Report periods: a quarter ("2026-Q3"), or explicit [from, to).
import { AppError } from '../errors.js';

export interface Period {
  from: Date;
  to: Date;
  label: string;
}

/** A quarter label: the year and Q1–Q4, as in 2026-Q3. */
export const QUARTER_PATTERN = /^(\d{4})-Q([1-4])$/i;

// Messages name the period, not a command-line option: the CLI and the API both parse
// periods here, and each says which of its own inputs was wrong.
export function parseQuarter(text: string): Period {
  const match = QUARTER_PATTERN.exec(text.trim());
  if (!match) throw new AppError('USAGE', `a quarter looks like 2026-Q3 (got "${text}")`);
  const year = Number(match[1]);
  const quarter = Number(match[2]);
  return {
    from: new Date(Date.UTC(year, (quarter - 1) * 3, 1)),
    to: new Date(Date.UTC(year, quarter * 3, 1)),
    label: `${year}-Q${quarter}`,
  };
}

export function explicitPeriod(from: Date, to: Date): Period {
  if (!(from.getTime() < to.getTime()))
    throw new AppError('USAGE', `a period must start before it ends (got ${from.toISOString()} to ${to.toISOString()})`);
  return { from, to, label: `${from.toISOString().slice(0, 10)}_${to.toISOString().slice(0, 10)}` };
}
