// The sign-in record the store benchmarks write (store-ingest, archive): a Graph beta
// signIn of the shape and size the collector stores (~1.3 KB of JSON), with the
// normalised columns the evidence writer takes beside it. Sign-in `i` is user i % 20,000.
import type { EventRecord } from '../../src/store/tables.js';

// The parts of a generated sign-in that are the same in every record, shared with the
// correlation store's template (correlation-store.ts), in the key order Graph sends.
export const BENCH_DEVICE = {
  deviceId: '',
  displayName: '',
  operatingSystem: 'Windows 10',
  browser: 'Edge 126.0.0',
  isCompliant: false,
  isManaged: false,
  trustType: '',
};
export const BENCH_LOCATION = {
  city: 'Amsterdam',
  state: 'Noord-Holland',
  countryOrRegion: 'NL',
  geoCoordinates: { altitude: null, latitude: 52.374, longitude: 4.8897 },
};
export const MFA_POLICY = {
  id: 'a1b2c3d4-0000-0000-0000-000000000001',
  displayName: 'Require MFA for Metabase',
  enforcedGrantControls: ['Mfa'],
  enforcedSessionControls: [],
  result: 'success',
};

export function benchSignIn(i: number, when: Date, idPrefix = '7f3c'): EventRecord {
  const at = when.toISOString();
  const raw = {
    id: `${idPrefix}${i.toString(16).padStart(8, '0')}-1b2c-4d5e-8f90-${(i * 7919).toString(16).padStart(12, '0').slice(-12)}`,
    createdDateTime: at,
    userDisplayName: `User ${i % 20000}`,
    userPrincipalName: `user${i % 20000}@contoso.example`,
    userId: `00000000-0000-4000-8000-${(i % 20000).toString().padStart(12, '0')}`,
    appId: '11111111-1111-1111-1111-111111111111',
    appDisplayName: 'Metabase',
    ipAddress: `203.0.${(i >> 8) & 255}.${i & 255}`,
    clientAppUsed: 'Browser',
    correlationId: `c0${i.toString(16).padStart(30, '0')}`,
    conditionalAccessStatus: 'success',
    isInteractive: true,
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: 'none',
    riskState: 'none',
    riskEventTypes_v2: [],
    resourceDisplayName: 'Metabase',
    resourceId: '22222222-2222-2222-2222-222222222222',
    status: {
      errorCode: i % 50 === 0 ? 50126 : 0,
      failureReason: i % 50 === 0 ? 'Invalid username or password.' : null,
      additionalDetails: null,
    },
    deviceDetail: BENCH_DEVICE,
    location: BENCH_LOCATION,
    appliedConditionalAccessPolicies: [MFA_POLICY],
    authenticationRequirement: i % 10 === 0 ? 'singleFactorAuthentication' : 'multiFactorAuthentication',
    signInEventTypes: ['interactiveUser'],
  };
  return {
    upstream_id: raw.id,
    occurred_at: new Date(at),
    raw,
    user_id: raw.userId,
    user_principal_name: raw.userPrincipalName,
    app_id: raw.appId,
    ip_address: raw.ipAddress,
    error_code: raw.status.errorCode,
    is_interactive: true,
    event_types: raw.signInEventTypes,
    authentication_requirement: raw.authenticationRequirement,
    risk_level_during_sign_in: raw.riskLevelDuringSignIn,
    risk_state: raw.riskState,
    conditional_access_status: raw.conditionalAccessStatus,
    correlation_id: raw.correlationId,
    graph_version: 'beta',
  };
}
