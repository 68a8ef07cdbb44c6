// Logs for people on a terminal, JSON for everything else (src/logger.ts). Lives with
// the console's tests because `demo --serve` is where people meet both.
import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { createLogger } from '../../src/logger.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => chunks.join('') };
}

describe('log format', () => {
  it('writes JSON lines when the destination is not a terminal (auto)', () => {
    const out = sink(false);
    createLogger({ destination: out.stream }).info({ runId: 3 }, 'collection finished');
    const entry = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(entry['msg']).toBe('collection finished');
    expect(entry['runId']).toBe(3);
  });

  it('writes one short line per entry on a terminal, secrets still redacted', () => {
    const out = sink(true);
    const logger = createLogger({ destination: out.stream });
    logger.warn({ stream: 'entra-sign-ins', clientSecret: 'sup3r-secret' }, 'throttled by Graph');
    const line = out.text();
    expect(line).toMatch(/^\d\d:\d\d:\d\d WARN  throttled by Graph {2}stream=entra-sign-ins clientSecret=\[redacted\]\n$/);
    expect(line).not.toContain('sup3r-secret');
    expect(line).not.toContain('{"level"');
  });

  it('honours an explicit format over the terminal test', () => {
    const out = sink(true);
    createLogger({ destination: out.stream, format: 'json' }).info('x');
    expect(JSON.parse(out.text()).msg).toBe('x');
  });
});
