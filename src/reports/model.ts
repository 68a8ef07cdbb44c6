// The report model: the canonical document every rendering (JSON, PDF, CSV, OSCAL) is
// a pure function of. Field names are a promise to scripts (docs/report-json.md);
// add fields only, and bump the minor schemaVersion when you do.
import type { FindingSubject, Severity } from '../correlation/types.js';

// A finding's subject and severity are the correlation's own, carried as they are.
export type { FindingSubject, Severity };

export const REPORT_SCHEMA_VERSION = '1.0';

export type Framework = 'soc2' | 'iso27001';
export type ControlStatus = 'effective' | 'exceptions' | 'incomplete' | 'not-evaluable';

export interface Range {
  from: string; // ISO-8601 UTC
  to: string;
}

export interface SourceSection {
  kind: 'entra-sign-ins' | 'entra-directory-audits' | 'entra-directory' | 'metabase';
  sourceId: string;
  coverage: Range[];
  gaps: Range[];
  records: number;
  firstRecordAt: string | null;
  lastRecordAt: string | null;
  /** Facts that limit what the source proves (v1.0-only sign-ins, edition, ...). */
  notes: string[];
}

export interface ControlSection {
  id: string; // e.g. CC6.2, A.5.16
  title: string;
  /** ISO 27001:2013 numbers the control replaces (empty for SOC 2). */
  formerIds: string[];
  status: ControlStatus;
  /** What was tested, in words an auditor follows without the code. */
  tested: string;
  population: string;
  rules: string[];
  findingIds: string[];
  /** Why incomplete or not evaluable. */
  reasons: string[];
}

export interface RuleSection {
  id: string;
  title: string;
  severity: Severity;
  status: 'evaluated' | 'not-evaluable';
  reason: string | null;
  parameters: Record<string, unknown>;
  findingCount: number;
  /** Instants the rule could not judge because a source lacked coverage. */
  notEvaluableCount: number;
}

export interface EvidenceRef {
  source: string; // table / stream, e.g. entra-sign-in, metabase-login
  id: string; // upstream id
  at: string | null;
}

export interface Finding {
  id: string;
  rule: string;
  severity: Severity;
  subject: FindingSubject;
  summary: string;
  firstSeen: string | null;
  lastSeen: string | null;
  evidence: EvidenceRef[];
  detail: Record<string, unknown>;
}

export interface HumanAccountRow {
  metabaseSourceId: string;
  accountId: string;
  email: string | null;
  active: boolean;
  ssoSource: string | null;
  linkStatus: string;
  linkMethod: string | null;
  personId: string | null;
  upn: string | null;
  privileged: boolean;
  dateJoined: string | null;
  firstActivity: string | null;
  lastActivity: string | null;
  lastSignIn: string | null;
}

export interface TerminatedPersonRow {
  personId: string;
  upn: string | null;
  terminatedAt: string;
  approximate: boolean;
  reason: string;
  accountState: string; // active | deactivated | none
  metabaseAccountId: string | null;
  lastActivity: string | null;
  removalLagHours: number | null;
}

export interface PrivilegedRow {
  metabaseSourceId: string;
  accountId: string;
  email: string | null;
  personId: string | null;
  viaSuperuser: boolean;
  viaAdminGroup: boolean;
  justified: boolean | null; // null: no admin group configured
}

export interface PrivilegeChangeRow {
  at: string;
  accountId: string;
  email: string | null;
  change: 'granted' | 'revoked';
  evidence: string;
}

export interface NonHumanRow {
  metabaseSourceId: string;
  accountId: string;
  email: string | null;
  kind: 'api-key' | 'internal';
  owner: string | null;
  lastUse: string | null;
}

export interface CredentialRow {
  credentialId: string;
  appId: string | null;
  ownerKind: string | null;
  type: string | null;
  displayName: string | null;
  start: string | null;
  end: string | null;
  source: 'entra' | 'metabase';
}

/**
 * Rows of a population or the findings: an array, or rows kept on disk and read back in
 * pages (row-spool.ts) when they are too many to hold. Renderers count them, iterate
 * them in order, or read one by its position; both forms give the same JSON, hash and
 * renderings.
 */
export interface Rows<T> extends Iterable<T> {
  readonly length: number;
  at(index: number): T | undefined;
}

export interface Populations {
  humanAccounts: Rows<HumanAccountRow>;
  terminatedPeople: Rows<TerminatedPersonRow>;
  privileged: Rows<PrivilegedRow>;
  privilegeChanges: Rows<PrivilegeChangeRow>;
  nonHuman: Rows<NonHumanRow>;
  credentials: Rows<CredentialRow>;
  /** Reconciliation: each population's count against what the sources returned. */
  reconciliation: { population: string; count: number; sourceCount: number; definition: string }[];
}

export interface Statistics {
  /** Successful Metabase app sign-ins per ISO week (week start date). */
  signInsPerWeek: { week: string; successful: number; failed: number }[];
  /** Share of successful sign-ins with multi-factor authentication (null: unknown). */
  mfaShare: number | null;
  /** Metabase logins explained by an SSO sign-in, unexplained, and not evaluable. */
  loginsExplained: { explained: number; unexplained: number; notEvaluable: number };
}

export interface ReportModel {
  schemaVersion: string;
  framework: Framework;
  title: string;
  period: Range;
  asOf: string;
  generatedAt: string;
  provisional: boolean;
  /** When the state used for "as-of" rules was observed, if not at as-of. */
  stateObservedAt: string | null;
  sources: SourceSection[];
  controls: ControlSection[];
  rules: RuleSection[];
  findings: Rows<Finding>;
  populations: Populations;
  statistics: Statistics;
  methodology: string[];
  integrity?: Integrity;
}

export interface Integrity {
  /** SHA-256 of the canonical JSON of the model without `integrity`. */
  contentSha256: string;
  signature: { alg: 'Ed25519'; keyId: string; value: string };
}
