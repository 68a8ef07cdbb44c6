// A small, deterministic layout for the compiled SQL of the rules, so the snapshots
// beside the rule files (sql/) read like hand-written SQL: one clause a line, nested
// subqueries and common table expressions indented by their parentheses. It only moves
// line starts; the text of each line (and every string literal) is left as compiled, so
// the snapshot is still the exact statement, up to whitespace at line starts.

/** Lines that start a clause sit at the level of their parentheses; others continue it. */
const CLAUSE =
  /^(with|select|from|where|(left |right |inner |full |cross )?join|order by|group by|having|window|union( all)?|limit|offset|\)|\w+ as \()/i;

const UNIT = '  ';

/** Parentheses a line opens and closes after its leading closing ones, outside string
 *  literals, quoted names and comments. */
function parenthesesOf(line: string): { leadingCloses: number; balance: number } {
  const leadingCloses = /^\)+/.exec(line)?.[0].length ?? 0;
  let balance = 0;
  let quote: string | null = null;
  for (let i = leadingCloses; i < line.length; i += 1) {
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
  return { leadingCloses, balance };
}

export function formatSql(text: string): string {
  const lines: string[] = [];
  // The indentation of the line that opened each open parenthesis: what it holds sits one
  // step deeper, the line that closes it sits level with it.
  const openers: number[] = [];
  const childIndent = () => (openers.length ? openers[openers.length - 1]! + UNIT.length : 0);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const { leadingCloses, balance } = parenthesesOf(line);
    let indent: number;
    if (leadingCloses > 0) {
      let opener = 0;
      for (let k = 0; k < leadingCloses; k += 1) opener = openers.pop() ?? 0;
      indent = opener;
    } else {
      indent = childIndent() + (CLAUSE.test(line) ? 0 : UNIT.length);
    }
    lines.push(' '.repeat(indent) + line);
    for (let k = 0; k < balance; k += 1) openers.push(indent);
    for (let k = 0; k > balance; k -= 1) openers.pop();
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
