// Who gets which console role. Settings list Entra app role values (preferred: they
// travel in the ID token's `roles` claim, assigned per person in the app registration)
// or group object ids (from the `groups` claim, or read through Graph when the token
// carries Entra's overage pointer instead). The highest mapped role wins; nobody
// without one gets in.
import type { ConsoleRole } from './session.repository.js';

export interface RoleMapping {
  viewer: readonly string[];
  reviewer: readonly string[];
  admin: readonly string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ORDER: ConsoleRole[] = ['admin', 'reviewer', 'viewer'];

export function isGroupId(entry: string): boolean {
  return GUID.test(entry);
}

/** Group ids the mapping names (lower case), for the Graph membership check. */
export function mappedGroupIds(mapping: RoleMapping): string[] {
  return [...new Set([...mapping.viewer, ...mapping.reviewer, ...mapping.admin].filter(isGroupId).map((g) => g.toLowerCase()))];
}

/** True when the ID token points to Graph for groups instead of listing them (overage). */
export function hasGroupsOverage(claims: Record<string, unknown>): boolean {
  const names = claims['_claim_names'];
  return (typeof names === 'object' && names !== null && 'groups' in names) || claims['hasgroups'] === true;
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function roleFor(
  input: { appRoles: readonly string[]; groupIds: readonly string[] },
  mapping: RoleMapping,
): ConsoleRole | undefined {
  const appRoles = new Set(input.appRoles);
  const groups = new Set(input.groupIds.map((g) => g.toLowerCase()));
  for (const role of ORDER) {
    if (mapping[role].some((entry) => (isGroupId(entry) ? groups.has(entry.toLowerCase()) : appRoles.has(entry)))) return role;
  }
  return undefined;
}

export const ROLE_RANK: Record<ConsoleRole, number> = { viewer: 1, reviewer: 2, admin: 3 };

export function atLeast(role: ConsoleRole, needed: ConsoleRole): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
}
