// Validators for the report JSON Schema and NIST's official OSCAL 1.1.3 schema, both
// carried in this repository (reports/oscal/README.md names the schema's source and licence).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Ajv as Ajv07 } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: unknown) => void;
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function oscalSchemaPath(): string {
  const candidates = [process.env['OSCAL_SCHEMA_PATH'], path.join(repoRoot, 'reports/oscal/oscal_complete_schema-1.1.3.json')].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`the official OSCAL schema was not found (looked at ${candidates.join(', ')}); set OSCAL_SCHEMA_PATH`);
  return found;
}

export function reportSchemaValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(path.join(repoRoot, 'reports/report.schema.json'), 'utf8')) as object);
}

export function oscalSchemaValidator() {
  const ajv = new Ajv07({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(oscalSchemaPath(), 'utf8')) as object);
}
