import { describe, expect, it } from 'vitest';

import { resolveRuleParameters, variableName } from '../../src/correlation/parameters.js';
import { AppError } from '../../src/errors.js';

describe('rule parameters', () => {
  it('take their defaults from the rule catalogue', () => {
    const parameters = resolveRuleParameters({}, { adminGroupIds: [] });
    expect(parameters['sso-bypass']).toEqual({ beforeMinutes: 10, afterMinutes: 2 });
    expect(parameters['dormant-account']).toEqual({ thresholdDays: 90 });
    expect(parameters['failed-sign-in-burst']?.['ignoredErrorCodes']).toEqual([50058, 50140, 50074, 50076, 50079, 50072]);
  });

  it('are overridden by ACCESSTRAIL_RULE_<RULE>_<PARAM>, typed like the default', () => {
    expect(variableName('failed-sign-in-burst', 'windowMinutes')).toBe('ACCESSTRAIL_RULE_FAILED_SIGN_IN_BURST_WINDOW_MINUTES');
    const parameters = resolveRuleParameters(
      {
        ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS: '60',
        ACCESSTRAIL_RULE_FAILED_SIGN_IN_BURST_IGNORED_ERROR_CODES: '50058, 50140',
        ACCESSTRAIL_RULE_RISKY_SIGN_IN_LEVELS: 'high',
      },
      { adminGroupIds: ['22222222-2222-2222-2222-222222222222'] },
    );
    expect(parameters['dormant-account']).toEqual({ thresholdDays: 60 });
    expect(parameters['failed-sign-in-burst']?.['ignoredErrorCodes']).toEqual([50058, 50140]);
    expect(parameters['risky-sign-in']?.['levels']).toEqual(['high']);
    expect(parameters['unjustified-privilege']?.['adminGroupIds']).toEqual(['22222222-2222-2222-2222-222222222222']);
  });

  it.each([
    [
      { ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS: 'ninety' },
      'ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS must be a non-negative number',
    ],
    [{ ACCESSTRAIL_RULE_SSO_BYPASS_BEFORE_MINUTES: '-5' }, 'ACCESSTRAIL_RULE_SSO_BYPASS_BEFORE_MINUTES must be a non-negative number'],
    [{ ACCESSTRAIL_RULE_FAILED_SIGN_IN_BURST_IGNORED_ERROR_CODES: '50058,abc' }, 'must be whole numbers separated by commas'],
    [{ ACCESSTRAIL_RULE_DORMANT_ACCOUNT_DAYS: '60' }, 'ACCESSTRAIL_RULE_DORMANT_ACCOUNT_DAYS names no rule parameter'],
  ])('refuse %j with a line naming the variable (exit 2)', (overrides, message) => {
    let caught: unknown;
    try {
      resolveRuleParameters(overrides, { adminGroupIds: [] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).exitCode).toBe(2);
    expect((caught as AppError).message).toContain(message);
  });
});
