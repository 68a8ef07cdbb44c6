// A small, deterministic layout for the compiled SQL of the rules, so the snapshots
// beside the rule files (sql/) read like hand-written SQL: one clause a line, nested
// subqueries and common table expressions indented by their parentheses. It only moves
// line starts; the text of each line (and every string literal) is left as compiled, so
// the snapshot is still the exact statement, up to whitespace at line starts.

/** Lines that start a clause sit at the level of their parentheses; others continue it. */
const CLAUSE = /^(with|select|from|where|(left |right |inner |full |cross )?join|order by|group by|having|window|union( all)?|limit|offset|\)|\w+ as \()/i;

const UNIT = '  ';

/** Net count of parentheses that a line opens, outside string literals, quoted names and comments. */
function parenthesisBalance(line: string): number {
  let balance = 0;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '-' && line[i + 1] === '-') break;
    else if (c === '(') balance += 1;
    else if (c === ')') balance -= 1;
  }
  return balance;
}

export function formatSql(text: string): string {
  const lines: string[] = [];
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const closing = /^\)+/.exec(line)?.[0].length ?? 0;
    const level = Math.max(0, depth - closing) + (CLAUSE.test(line) ? 0 : 1);
    lines.push(UNIT.repeat(level) + line);
    depth = Math.max(0, depth + parenthesisBalance(line));
  }
  return lines.join('\n');
}

/** A bound value as an SQL reader expects it: instants in ISO form, text quoted, lists as JSON. */
export function formatParameter(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}
