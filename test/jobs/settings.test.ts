// The unattended-operation settings: empty means unset, the schedule and its deprecated
// interval form, and the webhook's secret.
import { describe, expect, it } from 'vitest';

import { parseConfig } from '../../src/config.js';
import { intervalToCron } from '../../src/jobs/collection-interval.js';
import { collectScheduleOf, DEFAULT_COLLECT_SCHEDULE } from '../../src/jobs/system.js';

const errorOf = (env: Record<string, string>) => {
  try {
    parseConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
};

describe('unattended-operation settings', () => {
  it('reads empty and blank values as unset (compose, Kubernetes, systemd)', () => {
    const config = parseConfig({
      ACCESSTRAIL_LOG_LEVEL: '',
      PORT: ' ',
      ENTRA_LOG_RETENTION_DAYS: '',
      ACCESSTRAIL_COLLECT_SCHEDULE: '',
      ACCESSTRAIL_REPORT_SETTLE_HOURS: '',
      ACCESSTRAIL_WEBHOOK_URL: '',
      ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS: '',
    });
    expect(config.ACCESSTRAIL_LOG_LEVEL).toBe('info');
    expect(config.PORT).toBe(8080);
    expect(config.ENTRA_LOG_RETENTION_DAYS).toBe(30);
    expect(config.ACCESSTRAIL_REPORT_SETTLE_HOURS).toBe(6);
    expect(config.ACCESSTRAIL_ALERT_AFTER_FAILURES).toBe(3);
    expect(config.ruleParameters).toEqual({});
    expect(collectScheduleOf(config)).toBe(DEFAULT_COLLECT_SCHEDULE);
  });

  it('takes a cron schedule or off, and still honours the deprecated interval', () => {
    expect(
      collectScheduleOf(parseConfig({ ACCESSTRAIL_COLLECT_SCHEDULE: '*/30 * * * *', ACCESSTRAIL_COLLECT_INTERVAL_MINUTES: '5' })),
    ).toBe('*/30 * * * *');
    expect(collectScheduleOf(parseConfig({ ACCESSTRAIL_COLLECT_SCHEDULE: 'off' }))).toBeNull();
    expect(collectScheduleOf(parseConfig({ ACCESSTRAIL_COLLECT_INTERVAL_MINUTES: '15' }))).toBe('*/15 * * * *');
    expect(intervalToCron(60)).toBe('0 * * * *');
    expect(intervalToCron(180)).toBe('0 */3 * * *');
    expect(() => intervalToCron(7)).toThrow(/must divide an hour/);
    expect(errorOf({ ACCESSTRAIL_COLLECT_SCHEDULE: 'hourly' })).toBe(
      'ACCESSTRAIL_COLLECT_SCHEDULE must be a cron expression (5 fields, such as "0 * * * *") or off',
    );
  });

  it('needs the webhook secret with the webhook URL, and never prints either', () => {
    const message = errorOf({ ACCESSTRAIL_WEBHOOK_URL: 'https://hooks.example/abc?token=s3cr3t' });
    expect(message).toContain('ACCESSTRAIL_WEBHOOK_SECRET is not set');
    expect(message).not.toContain('s3cr3t');
    expect(errorOf({ ACCESSTRAIL_REPORT_SETTLE_HOURS: '-1' })).toBe('ACCESSTRAIL_REPORT_SETTLE_HOURS must be zero or more');
  });

  it('evidence retention: unset keeps forever, a whole positive number of months, archives under the data dir unless set', () => {
    const unset = parseConfig(
      { ACCESSTRAIL_DATA_DIR: '/srv/at', ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '', ACCESSTRAIL_ARCHIVE_DIR: ' ' },
      '/',
    );
    expect(unset.ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS).toBeUndefined();
    expect(unset.archiveDir).toBe('/srv/at/archive');
    const set = parseConfig({ ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '24', ACCESSTRAIL_ARCHIVE_DIR: 'cold' }, '/srv/at');
    expect(set.ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS).toBe(24);
    expect(set.archiveDir).toBe('/srv/at/cold');
    expect(errorOf({ ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '1.5' })).toBe(
      'ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS must be a whole number of months',
    );
    expect(errorOf({ ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '-3' })).toBe('ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS must be positive');
  });
});
