// Every rule of rules.md, in the catalogue's order. A new rule is one file here plus
// its entry in reports/catalogues/rules.json; the file is made with defineRule (define-rule.ts).
import type { Rule } from '../types.js';
import { accessAfterTermination } from './access-after-termination.rule.js';
import { dormantAccount } from './dormant-account.rule.js';
import { failedSignInBurst } from './failed-sign-in-burst.rule.js';
import { logGap } from './log-gap.rule.js';
import { orphanedAccount } from './orphaned-account.rule.js';
import { riskySignIn } from './risky-sign-in.rule.js';
import { singleFactorSignIn } from './single-factor-sign-in.rule.js';
import { ssoBypass } from './sso-bypass.rule.js';
import { staleCredential } from './stale-credential.rule.js';
import { unjustifiedPrivilege } from './unjustified-privilege.rule.js';
import { unlinkedAccount } from './unlinked-account.rule.js';

export const rules: readonly Rule[] = [
  accessAfterTermination,
  orphanedAccount,
  unlinkedAccount,
  ssoBypass,
  singleFactorSignIn,
  unjustifiedPrivilege,
  dormantAccount,
  staleCredential,
  logGap,
  failedSignInBurst,
  riskySignIn,
];
