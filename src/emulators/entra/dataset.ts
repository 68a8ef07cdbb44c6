// The Entra emulator's data: plain Microsoft Graph JSON, as the real service returns it
// (field names and shapes from Microsoft Graph's signIn, directoryAudit, user, group and application resources: docs/entra.md). Tests, the demo and the
// benchmark fill it; it may be changed between collection runs (the emulator reads it on
// every request), e.g. to add a late sign-in or to revise a record.

/** A Graph object: `id` plus whatever Graph fields the record carries. */
export type GraphObject = { id?: string } & Record<string, unknown>;

export interface EntraGroup extends GraphObject {
  id: string;
  displayName?: string;
  /** Ids of direct members: users, groups (nesting allowed) or service principals.
   *  The emulator serves them through /members and, expanded, /transitiveMembers. */
  members: string[];
}

export interface EntraDataset {
  /** signIn records (beta shape: signInEventTypes, authenticationRequirement, ...).
   *  The v1.0 endpoint serves the interactive ones without the beta-only fields. */
  signIns: GraphObject[];
  /** directoryAudit records (activityDateTime, activityDisplayName, targetResources, ...). */
  directoryAudits: GraphObject[];
  /** user objects (userPrincipalName, mail, accountEnabled, employeeLeaveDateTime, ...). */
  users: GraphObject[];
  /** Soft-deleted users (served at /directory/deletedItems/microsoft.graph.user). */
  deletedUsers: GraphObject[];
  groups: EntraGroup[];
  /** application objects (appId, web.redirectUris, passwordCredentials, keyCredentials). */
  applications: GraphObject[];
  /** servicePrincipal objects (appId, replyUrls, passwordCredentials, keyCredentials). */
  servicePrincipals: GraphObject[];
  /** appRoleAssignment objects; resourceId = the service principal's object id. */
  appRoleAssignments: GraphObject[];
  /** App registrations that may obtain tokens (client-credentials flow). */
  clients: EmulatedClient[];
}

/** An app registration that may obtain tokens: by its secret, or by an assertion signed
 *  with the key of its certificate (`certificatePem`, public part only), or both. */
export interface EmulatedClient {
  clientId: string;
  secret?: string;
  secretEndDateTime?: string;
  certificatePem?: string;
}

export function emptyDataset(): EntraDataset {
  return {
    signIns: [],
    directoryAudits: [],
    users: [],
    deletedUsers: [],
    groups: [],
    applications: [],
    servicePrincipals: [],
    appRoleAssignments: [],
    clients: [],
  };
}

/** Fields the v1.0 signIn resource does not have (spec §1.2): stripped from v1.0 answers. */
export const betaOnlySignInFields = [
  'signInEventTypes',
  'authenticationRequirement',
  'authenticationDetails',
  'authenticationMethodsUsed',
  'authenticationProtocol',
  'mfaDetail',
  'userType',
  'servicePrincipalId',
  'servicePrincipalName',
  'servicePrincipalCredentialKeyId',
  'clientCredentialType',
  'homeTenantId',
  'userAgent',
  'uniqueTokenIdentifier',
] as const;
