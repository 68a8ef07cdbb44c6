// Report periods: a quarter ("2026-Q3"), or explicit [from, to).
import { AppError } from '../errors.js';

export interface Period {
  from: Date;
  to: Date;
  label: string;
}

export function parseQuarter(text: string): Period {
  const match = /^(\d{4})-Q([1-4])$/i.exec(text.trim());
  if (!match) throw new AppError('USAGE', `--period must look like 2026-Q3 (got "${text}")`);
  const year = Number(match[1]);
  const quarter = Number(match[2]);
  return {
    from: new Date(Date.UTC(year, (quarter - 1) * 3, 1)),
    to: new Date(Date.UTC(year, quarter * 3, 1)),
    label: `${year}-Q${quarter}`,
  };
}

export function explicitPeriod(from: Date, to: Date): Period {
  if (!(from.getTime() < to.getTime())) throw new AppError('USAGE', '--from must be earlier than --to');
  return { from, to, label: `${from.toISOString().slice(0, 10)}_${to.toISOString().slice(0, 10)}` };
}
