// Accept-Encoding as RFC 9110 12.5.3 reads it: a coding with q=0 is refused, `*` stands
// for every coding not named, and a name is case-insensitive.
import { describe, expect, it } from 'vitest';

import { acceptsGzip, gzipEtagOf } from '../../src/api/served-bodies.js';

describe('acceptsGzip', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['GZIP', true],
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8, *;q=0.1', true],
    ['x-gzip', true],
    ['gzip;q=0', false],
    ['gzip; q=0.000', false],
    ['identity', false],
    ['br', false],
    ['*', true],
    ['*;q=0', false],
    ['*, gzip;q=0', false],
    ['gzip;q=0, *', false],
    [['deflate', 'gzip'], true],
  ] as const)('%j → %s', (header, expected) => {
    expect(acceptsGzip(header as string | string[] | undefined)).toBe(expected);
  });

  it('tags the gzipped representation apart from the plain one', () => {
    expect(gzipEtagOf('"abc"')).toBe('"abc-gzip"');
  });
});
