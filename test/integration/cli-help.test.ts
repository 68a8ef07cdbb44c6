// The command line loads only the command being run (src/cli/program.ts). What a user
// sees must not depend on that: the help lists every command, a command's own help has
// its options, and a mistyped command gets the nearest name and exit status 2.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const bin = path.resolve('bin/accesstrail.js');

async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: mkdtempSync(path.join(tmpdir(), 'accesstrail-help-')),
      env: { PATH: process.env['PATH'] ?? '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const COMMANDS = [
  'migrate',
  'collect',
  'correlate',
  'import',
  'verify',
  'link',
  'serve',
  'keys',
  'report',
  'demo',
  'doctor',
  'archive',
  'repack',
];

describe('accesstrail help', () => {
  it('lists every command, in order, however the program is loaded', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    const listed = [...stdout.matchAll(/^ {2}([a-z]+) /gm)].map((match) => match[1]);
    expect(listed).toEqual([...COMMANDS, 'help']);
  });

  it("shows a command's own options, with or without `help`", async () => {
    for (const args of [
      ['report', '--help'],
      ['help', 'report'],
    ]) {
      const { code, stdout } = await cli(args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^Usage: accesstrail report \[options\]/);
      expect(stdout).toContain('--framework <framework>');
    }
  });

  it('names the nearest command for a mistyped one and exits 2', async () => {
    const { code, stderr } = await cli(['reprot', '--period', '2026-Q3']);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command 'reprot'");
    expect(stderr).toContain('Did you mean report?');
  });
});
