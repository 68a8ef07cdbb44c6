// Preset dictionaries of the packed record format (record-codec.ts), by format number.
// FROZEN: a dictionary that records were written with can never change (the records
// would no longer inflate); test/unit/record-codec.test.ts pins each one's SHA-256. A
// better dictionary gets a new number.
//
// Each is the JSON text of a typical `[record, packed columns]` pair, field names in the
// order upstream sends them, with the values that recur from record to record. Deflate
// refers back into the dictionary for any string it holds, so what matters is that the
// names and common values are there; the ones nearest the end cost the fewest bits.
// Field names and values, and where they come from:
// - Entra signIn (Microsoft Graph): v1.0 properties from hashicorp/go-azure-sdk
//   `microsoft-graph/common-types/stable/model_signin.go`, beta additions from
//   `beta/model_signin.go` and microsoft-graph-docs `api-reference/beta/resources/signin.md`;
//   the order of the list example in `api-reference/v1.0/api/signin-list.md`
//   (summarised in the project's Graph spec, §1.2–1.3).
// - Metabase query_execution, login_history, view_log: the application database's
//   columns (Liquibase changelog `000_legacy_migrations.yaml` and later sets, summarised
//   in the project's Metabase spec, §1.2, §1.5, §1.6), as plainRow() copies them.
// - Entra workload sign-ins (service principal, managed identity): the beta signIn fields
//   of §1.3 that those records carry.

const graphSignInBeta = {
  authenticationContextClassReferences: [],
  authenticationDetails: [
    {
      authenticationMethod: 'Password',
      authenticationMethodDetail: 'Password in the cloud',
      authenticationStepDateTime: '',
      authenticationStepRequirement: 'Primary authentication',
      authenticationStepResultDetail: 'Correct password',
      succeeded: true,
    },
    {
      authenticationMethod: 'Mobile app notification',
      authenticationMethodDetail: null,
      authenticationStepDateTime: '',
      authenticationStepRequirement: 'MFA',
      authenticationStepResultDetail: 'MFA successfully completed',
      succeeded: true,
    },
    {
      authenticationMethod: 'Previously satisfied',
      authenticationStepRequirement: 'MFA',
      authenticationStepResultDetail: 'MFA requirement satisfied by claim in the token',
    },
  ],
  authenticationMethodsUsed: [],
  authenticationProcessingDetails: [{ key: 'Legacy TLS (TLS 1.0, 1.1, 3DES)', value: 'False' }],
  authenticationProtocol: 'none',
  authenticationRequirementPolicies: [{ requirementProvider: 'multiConditionalAccess', detail: 'Conditional Access' }],
  autonomousSystemNumber: 0,
  azureResourceId: '',
  clientCredentialType: 'none',
  crossTenantAccessType: 'none',
  federatedCredentialId: '',
  flaggedForReview: false,
  homeTenantId: '',
  homeTenantName: '',
  incomingTokenType: 'none',
  isTenantRestricted: false,
  managedServiceIdentity: { msiType: 'none', associatedResourceId: null, federatedTokenId: null, federatedTokenIssuer: null },
  mfaDetail: { authMethod: null, authDetail: null },
  networkLocationDetails: [{ networkType: 'namedNetwork', networkNames: [] }],
  originalRequestId: '',
  originalTransferMethod: 'none',
  privateLinkDetails: { policyId: '', policyName: '', resourceId: '', policyTenantId: '' },
  processingTimeInMilliseconds: 0,
  resourceServicePrincipalId: '',
  resourceTenantId: '',
  servicePrincipalCredentialKeyId: '',
  servicePrincipalCredentialThumbprint: '',
  servicePrincipalId: '',
  servicePrincipalName: '',
  sessionLifetimePolicies: [
    { expirationRequirement: 'rememberMultifactorAuthenticationOnTrustedDevices', detail: 'The user was required to sign in again' },
  ],
  signInIdentifier: '',
  signInIdentifierType: null,
  signInTokenProtectionStatus: 'none',
  tokenIssuerName: '',
  tokenIssuerType: 'AzureAD',
  tokenProtectionStatusDetails: { signInSessionStatus: 'unbound', signInSessionStatusCode: 0 },
  uniqueTokenIdentifier: '',
  userAgent:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  userType: 'member',
};

// deviceDetail as Graph sends it (HC `stable/model_devicedetail.go`), as JSON text.
const graphDeviceDetail: unknown = JSON.parse(
  '{"deviceId":"","displayName":"","operatingSystem":"Windows 10","browser":"Edge 126.0.0","isCompliant":false,"isManaged":false,"trustType":""}',
);

const graphSignIn = {
  id: '00000000-0000-0000-0000-000000000000',
  createdDateTime: '2026-01-01T00:00:00Z',
  userDisplayName: '',
  userPrincipalName: '',
  userId: '00000000-0000-0000-0000-000000000000',
  appId: '00000000-0000-0000-0000-000000000000',
  appDisplayName: '',
  ipAddress: '',
  clientAppUsed: 'Browser',
  correlationId: '00000000-0000-0000-0000-000000000000',
  conditionalAccessStatus: 'success',
  isInteractive: true,
  riskDetail: 'none',
  riskLevelAggregated: 'none',
  riskLevelDuringSignIn: 'none',
  riskState: 'none',
  riskEventTypes: [],
  riskEventTypes_v2: [],
  resourceDisplayName: 'Microsoft Graph',
  resourceId: '00000003-0000-0000-c000-000000000000',
  status: { errorCode: 0, failureReason: null, additionalDetails: null },
  deviceDetail: graphDeviceDetail,
  location: { city: '', state: '', countryOrRegion: '', geoCoordinates: { altitude: null, latitude: 0, longitude: 0 } },
  appliedConditionalAccessPolicies: [
    {
      id: '00000000-0000-0000-0000-000000000000',
      displayName: 'Require MFA',
      enforcedGrantControls: ['Mfa'],
      enforcedSessionControls: [],
      result: 'success',
    },
    { id: '', displayName: '', enforcedGrantControls: [], enforcedSessionControls: [], result: 'notApplied' },
  ],
  authenticationRequirement: 'multiFactorAuthentication',
  signInEventTypes: ['interactiveUser'],
};

// Values that recur in other records, ahead of the template (farther back, used less).
const graphSignInValues = [
  'singleFactorAuthentication',
  'nonInteractiveUser',
  'notApplied',
  'failure',
  'hidden',
  'unknownFutureValue',
  'Mobile Apps and Desktop clients',
  'Exchange ActiveSync',
  'Chrome 126.0.0',
  'Firefox 127.0',
  'Safari 17.5',
  'MacOs',
  'Windows10',
  'Ios',
  'Android',
  'Azure AD joined',
  'Invalid username or password or Invalid on-premise username or password.',
  'Other.',
  'atRisk',
  'confirmedSafe',
  'remediated',
  'dismissed',
  'low',
  'medium',
  'high',
  'userPassedMFADrivenByRiskBasedPolicy',
];

// The packed columns of entra_sign_in (tables.ts), as the codec writes them.
const signInPacked = {
  is_interactive: true,
  event_types: ['interactiveUser'],
  conditional_access_status: 'success',
  correlation_id: '00000000-0000-0000-0000-000000000000',
};

// The request columns the v60/v61 sets add to both query_execution and view_log.
const usageRequestColumns = {
  embedding_route: null,
  embedding_hostname: null,
  embedding_path: null,
  user_agent: null,
  sanitized_user_agent: null,
  ip_address: null,
};

const queryExecution = {
  id: 0,
  hash: '',
  started_at: '2026-01-01T00:00:00.000Z',
  running_time: 0,
  result_rows: 0,
  native: false,
  context: 'ad-hoc',
  error: null,
  executor_id: 0,
  card_id: null,
  dashboard_id: null,
  pulse_id: null,
  database_id: 1,
  cache_hit: false,
  action_id: null,
  is_sandboxed: false,
  cache_hash: null,
  embedding_client: null,
  embedding_version: null,
  parameterized: false,
  auth_method: 'saml',
  tenant_id: null,
  is_impersonated: false,
  is_db_routed: false,
  parameters: null,
  ...usageRequestColumns,
  metabase_version: null,
};
const queryExecutionValues = [
  'question',
  'dashboard',
  'collection',
  'pulse',
  'dashboard-subscription',
  'csv-download',
  'xlsx-download',
  'json-download',
  'public-dashboard',
  'public-question',
  'embedded-dashboard',
  'embedded-question',
  'cache-refresh',
  'map-tiles',
  'action',
  'password',
  'jwt',
  'api-key',
  'public',
  'guest',
];
const queryExecutionPacked = {
  card_id: 0,
  dashboard_id: 0,
  database_id: 1,
  native: false,
  result_rows: 0,
  running_time_ms: 0,
  auth_method: 'saml',
  ip_address: '',
};

const login = {
  id: 0,
  timestamp: '2026-01-01T00:00:00.000Z',
  user_id: 0,
  device_id: '00000000-0000-0000-0000-000000000000',
  device_description:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  ip_address: '',
  active: true,
  session_key: '',
};
const loginValues = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
];
const loginPacked = { device_id: '' };

const view = {
  id: 0,
  user_id: 0,
  model: 'card',
  model_id: 0,
  timestamp: '2026-01-01T00:00:00.000Z',
  metadata: null,
  has_access: true,
  context: 'question',
  embedding_client: null,
  embedding_version: null,
  auth_method: 'saml',
  tenant_id: null,
  ...usageRequestColumns,
};
const viewValues = ['dashboard', 'table', 'collection', 'password', 'jwt', 'api-key'];
const viewPacked = { model: 'card', model_id: 0, has_access: true, context: 'question' };

const workloadSignIn = {
  ...graphSignIn,
  ...graphSignInBeta,
  signInEventTypes: ['servicePrincipal'],
  clientCredentialType: 'clientSecret',
};
const workloadValues = ['managedIdentity', 'certificate', 'clientAssertion', 'federatedIdentityCredential'];
const workloadPacked = {
  service_principal_name: '',
  resource_id: '00000003-0000-0000-c000-000000000000',
  client_credential_type: 'clientSecret',
  conditional_access_status: 'notApplied',
  correlation_id: '00000000-0000-0000-0000-000000000000',
};

const text = (values: readonly string[], record: unknown, packed: unknown) =>
  `${JSON.stringify(values)}${JSON.stringify([record, packed])}`;

/** Format number → dictionary text. 0 is the uncompressed format (no dictionary). */
export const DICTIONARIES: Readonly<Record<number, string>> = {
  1: text(graphSignInValues, { ...graphSignInBeta, ...graphSignIn }, signInPacked),
  2: text(queryExecutionValues, queryExecution, queryExecutionPacked),
  3: text(loginValues, login, loginPacked),
  4: text(viewValues, view, viewPacked),
  5: text(workloadValues, workloadSignIn, workloadPacked),
};
