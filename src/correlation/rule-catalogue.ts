// The rule catalogue (reports/catalogues/rules.json): each rule's title, severity,
// default parameters, plain-language description, controls and the sources it reads.
// It belongs to correlation (the rules run from it); the framework catalogues and the
// control status that build on it live in src/reports/catalogue.ts. Loading validates
// strictly: a typo in a catalogue must stop the run with the file and the field named,
// not silently drop a rule from an audit.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { AppError } from '../errors.js';

export const sourceKinds = ['entra-sign-ins', 'entra-directory-audits', 'entra-directory', 'metabase'] as const;
export type SourceKind = (typeof sourceKinds)[number];

export const ruleIdPattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const ruleEntrySchema = z
  .object({
    id: z.string().regex(ruleIdPattern, 'must be a kebab-case rule id'),
    title: z.string().min(1),
    severity: z.enum(['high', 'medium', 'low']),
    parameters: z.record(z.string(), z.unknown()),
    description: z.string().min(20, 'must be a plain-language paragraph'),
    controls: z.array(z.string().min(1)),
    sources: z.array(z.enum(sourceKinds)).min(1),
  })
  .strict();

const ruleCatalogueSchema = z
  .object({
    version: z.string().min(1),
    description: z.string().optional(),
    rules: z.array(ruleEntrySchema).min(1),
  })
  .strict();

export type RuleEntry = z.infer<typeof ruleEntrySchema>;
export type RuleCatalogue = z.infer<typeof ruleCatalogueSchema>;

/** The folder holding soc2.json, iso27001.json and rules.json (works from src and from dist). */
export function defaultCatalogueDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const candidate of [path.resolve(here, '../../reports/catalogues'), path.resolve(here, '../../../reports/catalogues')]) {
    if (existsSync(path.join(candidate, 'rules.json'))) return candidate;
  }
  throw new AppError('CONFIG_INVALID', `report catalogues not found next to ${here} (expected reports/catalogues/rules.json)`);
}

export function readCatalogueFile<T>(file: string, schema: z.ZodType<T>): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AppError('CONFIG_INVALID', `catalogue ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new AppError('CONFIG_INVALID', `catalogue ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseCatalogue(file, raw, schema);
}

export function parseCatalogue<T>(file: string, raw: unknown, schema: z.ZodType<T>): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new AppError('CONFIG_INVALID', `catalogue ${file}: field ${field} ${issue?.message ?? 'is invalid'}`);
}

export function parseRuleCatalogue(raw: unknown, file = 'rules.json'): RuleCatalogue {
  const catalogue = parseCatalogue(file, raw, ruleCatalogueSchema);
  const seen = new Set<string>();
  catalogue.rules.forEach((rule, index) => {
    if (seen.has(rule.id)) throw new AppError('CONFIG_INVALID', `catalogue ${file}: field rules.${index}.id repeats rule ${rule.id}`);
    seen.add(rule.id);
  });
  return catalogue;
}

export function loadRuleCatalogue(dir = defaultCatalogueDir()): RuleCatalogue {
  const file = path.join(dir, 'rules.json');
  return parseRuleCatalogue(readCatalogueFile(file, z.unknown()), file);
}
