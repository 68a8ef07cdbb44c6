// The console's overview warns about Entra retention exactly as the service's retention
// guard does: both read the store's readFreshness (src/store/freshness.repository.ts),
// whose judgement per stream (streamFreshness) the rows below come from. A retained Entra log stream last
// collected within 7 days of ENTRA_LOG_RETENTION_DAYS is expiring, past it lost; Metabase
// streams and Entra streams upstream does not delete raise no retention warning.
import { describe, expect, it } from 'vitest';

import { type OverviewData, overviewPage } from '../../src/console/pages.js';
import { streamFreshness } from '../../src/store/freshness.repository.js';

const NOW = new Date('2026-11-20T12:00:00Z');
const DAY = 86_400_000;
const user = { displayName: 'Ada', username: 'ada@contoso.example', role: 'viewer' as const, csrfToken: 'x' };

function overview(stream: string, kind: 'entra' | 'metabase', daysAgo: number): string {
  const data: OverviewData = {
    framework: 'soc2',
    quarter: { label: '2026-Q4', from: new Date('2026-10-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') },
    report: undefined,
    correlationRunId: undefined,
    counts: [],
    freshness: [
      streamFreshness(
        { sourceId: 'entra:t', stream, kind, lastCoveredTo: new Date(NOW.getTime() - daysAgo * DAY), oldestAvailableAt: null },
        { now: NOW, entraRetentionDays: 30 },
      ),
    ],
    retentionDays: 30,
    now: NOW,
  };
  return overviewPage(user, data);
}

describe('console retention warning', () => {
  it('is silent while more than 7 days of retention are left', () => {
    expect(overview('entra-sign-ins', 'entra', 22)).toContain('Every Entra log stream was collected within its 30-day retention');
  });
  it('warns when 7 days or fewer are left, and says records may be lost past the retention', () => {
    const expiring = overview('entra-sign-ins', 'entra', 23.5);
    expect(expiring).toContain('Retention warning');
    expect(expiring).toContain('collect within the next days');
    expect(overview('entra-directory-audits', 'entra', 31)).toContain('may already be lost');
  });
  it('says nothing for streams upstream does not delete after the Entra retention', () => {
    expect(overview('metabase-logins', 'metabase', 45)).not.toContain('Retention warning');
    expect(overview('entra-sign-ins:interactive', 'entra', 45)).not.toContain('Retention warning');
  });
});
