// How wide the next Entra log window is, from what the last one held.
import { describe, expect, it } from 'vitest';

import { defaultWindowPolicy, nextWindowMs, type WindowPolicy } from '../../src/collectors/entra/log-streams.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const policy: WindowPolicy = {
  ...defaultWindowPolicy,
  targetPagesPerWindow: 10,
  maxGrowth: 128,
  minWindowMs: 60_000,
  maxWindowMs: 366 * DAY,
};

describe('nextWindowMs', () => {
  it('widens a sparse window to where the measured density predicts the target of full pages', () => {
    // 100 records in a day, pages of 1,000: 10 full pages take 100 days.
    expect(nextWindowMs(policy, DAY, { widthMs: DAY, records: 100, pageCapacity: 1000 })).toBe(100 * DAY);
    // 50 a day would take 200 days: growth stops at 128x.
    expect(nextWindowMs(policy, DAY, { widthMs: DAY, records: 50, pageCapacity: 1000 })).toBe(128 * DAY);
    // Pages of 100 (as the server showed): 10 pages = 1,000 records = 20 days.
    expect(nextWindowMs(policy, DAY, { widthMs: DAY, records: 50, pageCapacity: 100 })).toBe(20 * DAY);
  });

  it('grows an empty or nearly empty window by at most maxGrowth, and never past maxWindowMs', () => {
    expect(nextWindowMs(policy, HOUR, { widthMs: HOUR, records: 0, pageCapacity: 1000 })).toBe(128 * HOUR);
    expect(nextWindowMs(policy, HOUR, { widthMs: HOUR, records: 1, pageCapacity: 1000 })).toBe(128 * HOUR);
    expect(nextWindowMs(policy, 10 * DAY, { widthMs: 10 * DAY, records: 0, pageCapacity: 1000 })).toBe(366 * DAY);
  });

  it('narrows a dense window at once to the target, down to minWindowMs', () => {
    // 50,000 records in a day: 10,000 records take 4.8 h.
    expect(nextWindowMs(policy, DAY, { widthMs: DAY, records: 50_000, pageCapacity: 1000 })).toBe(Math.round(DAY / 5));
    expect(nextWindowMs(policy, 2 * 60_000, { widthMs: 2 * 60_000, records: 10_000_000, pageCapacity: 1000 })).toBe(60_000);
  });

  it('keeps the width after a window cut short by the end of the range, unless it was dense', () => {
    // A 4-hour tail of a 30-day window with 100 records: no reason to narrow.
    expect(nextWindowMs(policy, 30 * DAY, { widthMs: 4 * HOUR, records: 100, pageCapacity: 1000 })).toBe(30 * DAY);
    // The same tail with 40,000 records is dense: 1 h holds the target.
    expect(nextWindowMs(policy, 30 * DAY, { widthMs: 4 * HOUR, records: 40_000, pageCapacity: 1000 })).toBe(HOUR);
  });

  it('stays below a ceiling set by a timeout', () => {
    expect(nextWindowMs(policy, DAY, { widthMs: DAY, records: 0, pageCapacity: 1000 }, 3 * DAY)).toBe(3 * DAY);
  });
});
