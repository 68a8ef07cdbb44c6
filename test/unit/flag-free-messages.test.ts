// Issue 14: layers below the CLI never word their errors and notes with command-line
// flags (the API once wrote its own quarter parser because period.ts spoke of --period).
// The CLI adds its option to a lower layer's usage error (src/cli/options.ts withOption).
// This reads every AppError and summary note below src/cli and fails on a `--flag` in
// its message.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const LOWER_LAYERS = ['store', 'collectors', 'correlation', 'reports', 'jobs', 'api', 'console', 'doctor'];

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

/** The text of each `new AppError(…)` and `notes.push(…)` call, up to its closing parenthesis. */
function messageCalls(source: string): string[] {
  const calls: string[] = [];
  for (const match of source.matchAll(/new AppError\(|notes\.push\(/g)) {
    let depth = 0;
    let end = match.index;
    for (; end < source.length; end += 1) {
      if (source[end] === '(') depth += 1;
      else if (source[end] === ')' && --depth === 0) break;
    }
    calls.push(source.slice(match.index, end + 1));
  }
  return calls;
}

describe('messages below the CLI', () => {
  it('name no command-line flag', () => {
    const offending: string[] = [];
    for (const layer of LOWER_LAYERS) {
      for (const file of sourceFiles(path.join('src', layer))) {
        for (const call of messageCalls(readFileSync(file, 'utf8'))) {
          // A flag inside a string literal: '--since', `--kind ${k}`, "--period".
          if (/(['"`])[^'"`]*\s?--[a-z][a-z-]+[^'"`]*\1/.test(call)) offending.push(`${file}: ${call.replace(/\s+/g, ' ').slice(0, 140)}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('is a check that can fail', () => {
    expect(messageCalls("throw new AppError('USAGE', `--period must look like 2026-Q3 (got ${x})`);")).toHaveLength(1);
    expect(/(['"`])[^'"`]*\s?--[a-z][a-z-]+[^'"`]*\1/.test("new AppError('USAGE', '--since is after --until')")).toBe(true);
  });
});
