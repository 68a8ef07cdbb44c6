// The slice of OData $filter the emulator understands: the clauses the collector sends
// (spec §4.1) and nothing more, so a clause the real service would reject fails here too
// instead of silently matching everything.
import type { GraphObject } from './dataset.js';

export class FilterError extends Error {}

type Predicate = (record: GraphObject) => boolean;

/** Fields whose filters compare instants: values must be unquoted ISO-8601 UTC (quoted
 *  dates give "Invalid filter clause" on the real service: microsoft-graph-docs#14173). */
const instantFields = new Set(['createdDateTime', 'activityDateTime']);

function splitTopLevel(text: string, keyword: 'and' | 'or'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  const needle = ` ${keyword} `;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    else if (!quoted && depth === 0 && text.slice(i, i + needle.length).toLowerCase() === needle) {
      parts.push(text.slice(start, i).trim());
      start = i + needle.length;
      i += needle.length - 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((part) => part !== '');
}

function stripParens(text: string): string {
  let current = text.trim();
  while (current.startsWith('(') && current.endsWith(')') && balanced(current.slice(1, -1))) current = current.slice(1, -1).trim();
  return current;
}

function balanced(text: string): boolean {
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

function literal(field: string, text: string): string | number | boolean {
  if (instantFields.has(field)) {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/.test(text)) throw new FilterError('Invalid filter clause');
    return text;
  }
  if (/^'.*'$/.test(text)) return text.slice(1, -1).replace(/''/g, "'");
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+$/.test(text)) return Number(text);
  throw new FilterError('Invalid filter clause');
}

function valueAt(record: GraphObject, path: string): unknown {
  let current: unknown = record;
  for (const key of path.split('/')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** NaN for anything that is not a real instant (Date.parse would roll 02-30 into March). */
function instant(value: unknown): number {
  if (typeof value !== 'string') return Number.NaN;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed) || new Date(parsed).toISOString().slice(0, 10) !== value.slice(0, 10)) return Number.NaN;
  return parsed;
}

function parseClause(clause: string, allowed: ReadonlySet<string>): Predicate {
  const text = stripParens(clause);
  const ors = splitTopLevel(text, 'or');
  if (ors.length > 1) {
    const predicates = ors.map((part) => parseClause(part, allowed));
    return (record) => predicates.some((p) => p(record));
  }
  const ands = splitTopLevel(text, 'and');
  if (ands.length > 1) {
    const predicates = ands.map((part) => parseClause(part, allowed));
    return (record) => predicates.every((p) => p(record));
  }
  const lambda = /^(\w+)\/any\((\w+):\s*(.+)\)$/.exec(text);
  if (lambda) {
    const [, field, variable, body] = lambda as unknown as [string, string, string, string];
    if (!allowed.has(`${field}/any`)) throw new FilterError('Invalid filter clause');
    const wanted = splitTopLevel(stripParens(body), 'or').map((part) => {
      const match = new RegExp(`^${variable}\\s+(eq|ne)\\s+'([^']*)'$`).exec(part.trim());
      if (!match) throw new FilterError('Invalid filter clause');
      return { op: match[1]!, value: match[2]! };
    });
    return (record) => {
      const values = valueAt(record, field);
      if (!Array.isArray(values)) return false;
      return values.some((v) => wanted.some((w) => (w.op === 'eq' ? v === w.value : v !== w.value)));
    };
  }
  const comparison = /^([\w/]+)\s+(eq|ge|le|gt|lt)\s+(.+)$/.exec(text);
  if (!comparison) throw new FilterError('Invalid filter clause');
  const [, field, op, raw] = comparison as unknown as [string, string, string, string];
  if (!allowed.has(field)) throw new FilterError(`Invalid filter clause: unsupported property ${field}`);
  if (instantFields.has(field) && (op === 'gt' || op === 'lt')) throw new FilterError('Invalid filter clause');
  const value = literal(field, raw.trim());
  if (instantFields.has(field)) {
    const bound = Date.parse(String(value));
    // A record whose time is malformed matches every time filter: a broken upstream sends
    // it whatever was asked, which is what the collector's quarantine must cope with.
    const at = (record: GraphObject) => instant(valueAt(record, field));
    if (op === 'ge') return (record) => Number.isNaN(at(record)) || at(record) >= bound;
    if (op === 'le') return (record) => Number.isNaN(at(record)) || at(record) <= bound;
    return (record) => Number.isNaN(at(record)) || at(record) === bound;
  }
  if (op !== 'eq') throw new FilterError('Invalid filter clause');
  return (record) => {
    const actual = valueAt(record, field);
    return typeof actual === 'string' && typeof value === 'string' ? actual.toLowerCase() === value.toLowerCase() : actual === value;
  };
}

/** Compiles a $filter; throws FilterError for anything outside `allowed` properties. */
export function compileFilter(filter: string | null, allowed: ReadonlySet<string>): Predicate {
  if (filter === null || filter.trim() === '') return () => true;
  return parseClause(filter, allowed);
}

/** Applies $select: the listed properties (plus id and @odata.type) in that order. */
export function project(record: GraphObject, select: string[] | null): GraphObject {
  if (!select) return record;
  const out: GraphObject = {};
  if (record['@odata.type'] !== undefined) out['@odata.type'] = record['@odata.type'];
  out.id = record.id;
  for (const key of select) if (key !== 'id') out[key] = key in record ? record[key] : null;
  return out;
}
