import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import { csvCell, csvDocument, renderCsvFiles } from '../../src/reports/render/csv.js';
import { sampleReportModel } from '../support/sample-model.js';

describe('CSV rendering', () => {
  it('neutralises cells a spreadsheet would run as formulas', () => {
    expect(csvCell('=1+2')).toBe("'=1+2");
    expect(csvCell('+SUM(A1)')).toBe("'+SUM(A1)");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@cmd')).toBe("'@cmd");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('\r=x')).toBe('"\'\r=x"');
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(null)).toBe('');
    expect(csvCell(false)).toBe('false');
  });

  it('quotes by RFC 4180 and ends lines with CRLF', () => {
    const { content } = csvDocument(
      ['a', 'b'],
      [
        ['x,y', 'say "hi"'],
        ['line\nbreak', null],
      ],
    );
    expect(content).toBe('a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",\r\n');
    expect(parse(content, { columns: true })).toEqual([
      { a: 'x,y', b: 'say "hi"' },
      { a: 'line\nbreak', b: '' },
    ]);
  });

  it('writes one file per population plus findings, with a hostile display name neutralised', () => {
    const model = sampleReportModel({ accounts: 400, events: 10_000, seed: 11 });
    const files = renderCsvFiles(model);
    expect(files.map((file) => file.name)).toEqual([
      'human-accounts.csv',
      'terminated-people.csv',
      'privileged.csv',
      'privilege-changes.csv',
      'non-human.csv',
      'credentials.csv',
      'findings.csv',
    ]);
    const human = parse(files[0]!.content, { columns: true }) as Record<string, string>[];
    expect(human).toHaveLength(model.populations.humanAccounts.length);
    expect(human[0]?.email).toBe([...model.populations.humanAccounts][0]?.email);
    const credentials = parse(files[5]!.content, { columns: true }) as Record<string, string>[];
    const hostile = credentials.find((row) => row.display_name?.includes('HYPERLINK'));
    expect(hostile?.display_name).toBe('\'=HYPERLINK("http://evil.example","click")');
    const findings = parse(files[6]!.content, { columns: true }) as Record<string, string>[];
    expect(findings).toHaveLength(model.findings.length);
    expect(findings.every((row) => !/^[=+\-@]/.test(Object.values(row).join('')))).toBe(true);
    // Same model, same bytes.
    expect(renderCsvFiles(sampleReportModel({ accounts: 400, events: 10_000, seed: 11 })).map((file) => file.content)).toEqual(
      files.map((file) => file.content),
    );
  });
});
