import { describe, expect, it } from 'vitest';

import { parseFormats } from '../../src/cli/commands/report.js';
import { parseInstant, withOption } from '../../src/cli/options.js';
import { AppError } from '../../src/errors.js';
import { explicitPeriod, parseQuarter } from '../../src/reports/period.js';

function usageError(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('report periods and formats', () => {
  it('reads a quarter as [first day, first day of the next quarter)', () => {
    expect(parseQuarter('2026-Q3')).toEqual({
      from: new Date('2026-07-01T00:00:00Z'),
      to: new Date('2026-10-01T00:00:00Z'),
      label: '2026-Q3',
    });
    expect(parseQuarter('2026-q4').to).toEqual(new Date('2027-01-01T00:00:00Z'));
  });

  it('refuses a malformed quarter, an empty period and an unknown format, naming the option', () => {
    // The lower layer names the period, never a flag (issue 14); the CLI adds its option.
    expect(usageError(() => parseQuarter('2026-Q5')).message).toBe('a quarter looks like 2026-Q3 (got "2026-Q5")');
    expect(usageError(() => withOption('--period', () => parseQuarter('2026-Q5'))).message).toBe(
      '--period: a quarter looks like 2026-Q3 (got "2026-Q5")',
    );
    expect(usageError(() => explicitPeriod(new Date('2026-07-01'), new Date('2026-07-01'))).message).toBe(
      'a period must start before it ends (got 2026-07-01T00:00:00.000Z to 2026-07-01T00:00:00.000Z)',
    );
    expect(usageError(() => parseFormats('json,docx')).message).toBe('--format takes json, pdf, csv, oscal (got "docx")');
    expect(usageError(() => parseInstant('--from', 'last week')).exitCode).toBe(2);
  });

  it('reads formats case-insensitively, once each', () => {
    expect(parseFormats('PDF, json,pdf')).toEqual(['pdf', 'json']);
    expect(parseInstant('--from', '2026-07-01')).toEqual(new Date('2026-07-01T00:00:00Z'));
  });

  it('restates an asynchronous usage error with the option, and lets other errors through unchanged', async () => {
    await expect(
      withOption('--scopes', async () => {
        throw new AppError('USAGE', 'an API key needs at least one scope');
      }),
    ).rejects.toThrow('--scopes: an API key needs at least one scope');
    const other = new AppError('NOT_FOUND', 'no such key');
    await expect(withOption('--scopes', () => Promise.reject(other))).rejects.toBe(other);
    expect(withOption('--scopes', () => 42)).toBe(42);
  });
});
