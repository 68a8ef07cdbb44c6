// Rule parameters: defaults from the rule catalogue (reports/catalogues/rules.json),
// overridden by ACCESSTRAIL_RULE_<RULE>_<PARAM> settings (e.g.
// ACCESSTRAIL_RULE_DORMANT_ACCOUNT_THRESHOLD_DAYS=60). A value that does not fit the
// default's type stops the command naming the variable.
import { AppError } from '../errors.js';
import { loadRuleCatalogue } from './rule-catalogue.js';

export type RuleParameters = Record<string, Record<string, unknown>>;

export function variableName(ruleId: string, parameter: string): string {
  const snake = parameter.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
  return `ACCESSTRAIL_RULE_${ruleId.replace(/-/g, '_').toUpperCase()}_${snake}`;
}

function parseLike(variable: string, text: string, example: unknown): unknown {
  if (typeof example === 'number') {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new AppError('CONFIG_INVALID', `${variable} must be a non-negative number`);
    return value;
  }
  if (typeof example === 'boolean') {
    if (!/^(true|false)$/i.test(text)) throw new AppError('CONFIG_INVALID', `${variable} must be true or false`);
    return /^true$/i.test(text);
  }
  if (Array.isArray(example)) {
    const items = text
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    if (example.length > 0 && typeof example[0] === 'number') {
      return items.map((item) => {
        const value = Number(item);
        if (!Number.isInteger(value)) throw new AppError('CONFIG_INVALID', `${variable} must be whole numbers separated by commas`);
        return value;
      });
    }
    return items;
  }
  return text;
}

/** Effective parameters of every rule; `overrides` are ACCESSTRAIL_RULE_* settings. */
export function resolveRuleParameters(overrides: Readonly<Record<string, string>>, extra: { adminGroupIds: string[] }): RuleParameters {
  const catalogue = loadRuleCatalogue();
  const known = new Set<string>();
  const result: RuleParameters = {};
  for (const rule of catalogue.rules) {
    const parameters: Record<string, unknown> = { ...rule.parameters };
    for (const [name, example] of Object.entries(rule.parameters)) {
      const variable = variableName(rule.id, name);
      known.add(variable);
      const text = overrides[variable];
      if (text !== undefined && text.trim() !== '') parameters[name] = parseLike(variable, text.trim(), example);
    }
    result[rule.id] = parameters;
  }
  // The admin groups are configured once, for the collector and the rule alike.
  if (result['unjustified-privilege'] && extra.adminGroupIds.length > 0)
    result['unjustified-privilege'].adminGroupIds = extra.adminGroupIds;
  for (const variable of Object.keys(overrides)) {
    if (!known.has(variable))
      throw new AppError('CONFIG_INVALID', `${variable} names no rule parameter (see reports/catalogues/rules.json)`);
  }
  return result;
}

// A rule reads its parameters without a default of its own: defineRule lays the
// catalogue's defaults under the run's values, so a missing parameter is a name the
// catalogue entry lacks, and says so. (The fallback is for callers outside the rules.)
function missing(name: string): never {
  throw new AppError(
    'CONFIG_INVALID',
    `rule parameter ${name} is not set: it is missing from the rule's entry in reports/catalogues/rules.json`,
  );
}

export function numberParameter(parameters: Record<string, unknown>, name: string, fallback?: number): number {
  const value = parameters[name];
  if (typeof value === 'number') return value;
  return fallback ?? missing(name);
}

export function listParameter<T>(parameters: Record<string, unknown>, name: string, fallback?: T[]): T[] {
  const value = parameters[name];
  if (Array.isArray(value)) return value as T[];
  return fallback ?? missing(name);
}
