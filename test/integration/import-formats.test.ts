// The value vocabulary and the streaming JSON scanner of the Entra importers, without a
// database. Sources of the formats: docs/imports.md.
import { describe, expect, it } from 'vitest';

import { JsonRecordScanner } from '../../src/collectors/entra/import/json-records.js';
import { columnKey, detect, kindFromFileName } from '../../src/collectors/entra/import/shapes.js';
import {
  authenticationRequirement,
  cellBoolean,
  dynamicValue,
  enumValue,
  parseExportInstant,
} from '../../src/collectors/entra/import/values.js';

describe('export values', () => {
  it('reads admin center ISO times and Log Analytics US times as UTC, and refuses impossible dates', () => {
    expect(parseExportInstant('2024-07-23T15:37:27Z')).toBe('2024-07-23T15:37:27Z');
    expect(parseExportInstant('2024-07-23T15:37:27.1234567+00:00')).toBe('2024-07-23T15:37:27.1234567+00:00');
    expect(parseExportInstant('2024-07-23T15:37:27')).toBe('2024-07-23T15:37:27Z');
    expect(parseExportInstant('7/23/2024, 3:37:27.000 PM')).toBe('2024-07-23T15:37:27.000Z');
    expect(parseExportInstant('7/23/2024, 12:05:00.000 AM')).toBe('2024-07-23T00:05:00.000Z');
    expect(parseExportInstant('7/23/2024, 12:05:00.000 PM')).toBe('2024-07-23T12:05:00.000Z');
    expect(parseExportInstant('2/30/2024, 1:00:00.000 PM')).toBeUndefined();
    expect(parseExportInstant('2024-02-30T00:00:00Z')).toBeUndefined();
    expect(parseExportInstant('13/1/2024, 1:00:00.000 PM')).toBeUndefined();
    expect(parseExportInstant('')).toBeUndefined();
  });

  it('maps the portal labels and Graph enums of authenticationRequirement; anything else stays absent', () => {
    expect(authenticationRequirement('Multifactor authentication')).toBe('multiFactorAuthentication');
    expect(authenticationRequirement('Single-factor authentication')).toBe('singleFactorAuthentication');
    expect(authenticationRequirement('singleFactorAuthentication')).toBe('singleFactorAuthentication');
    expect(authenticationRequirement('multiFactorAuthentication')).toBe('multiFactorAuthentication');
    expect(authenticationRequirement('')).toBeUndefined();
    expect(authenticationRequirement('Passwordless')).toBeUndefined();
  });

  it('keeps empty cells absent, not false or zero; reads dynamic columns as objects or JSON text', () => {
    expect(cellBoolean('')).toBeUndefined();
    expect(cellBoolean('False')).toBe(false);
    expect(enumValue('Not Applied')).toBe('notApplied');
    expect(dynamicValue('{"errorCode":0}')).toEqual({ errorCode: 0 });
    expect(dynamicValue({ errorCode: 0 })).toEqual({ errorCode: 0 });
    expect(dynamicValue('')).toBeUndefined();
  });
});

describe('kind detection', () => {
  it('tells the exports apart by their columns', () => {
    expect(detect(['Date (UTC)', 'Request ID', 'User ID', 'Username', 'Application ID '], false)).toMatchObject({
      format: 'admin-center-csv',
      family: 'user-sign-ins',
    });
    expect(detect(['Date (UTC)', 'Request ID', 'Service principal ID', 'Service principal name'], false)).toMatchObject({
      family: 'workload-sign-ins',
    });
    expect(detect(['Date (UTC)', 'CorrelationId', 'Service', 'Category', 'Activity', 'Result'], false)).toMatchObject({ family: 'audits' });
    expect(detect(['TimeGenerated [UTC]', 'UserPrincipalName', 'ServicePrincipalId'], false)).toMatchObject({
      format: 'log-analytics-csv',
      family: 'user-sign-ins',
    });
    expect(detect(['TimeGenerated', 'ServicePrincipalId', 'ServicePrincipalName'], true)).toMatchObject({
      format: 'log-analytics-json',
      family: 'workload-sign-ins',
    });
    expect(detect(['TimeGenerated', 'ActivityDisplayName', 'TargetResources'], true)).toMatchObject({ family: 'audits' });
    expect(detect(['Entity ID', 'Started At'], false)).toHaveProperty('error');
    expect(columnKey(' Application ID ')).toBe('application id');
    expect(columnKey('TimeGenerated [UTC]')).toBe('timegenerated');
    expect(kindFromFileName('NonInteractiveSignIns_2024-07-01.csv')).toBe('entra-non-interactive-sign-ins');
    expect(kindFromFileName('InteractiveSignIns_2024-07-01.csv')).toBe('entra-interactive-sign-ins');
    expect(kindFromFileName('MSISignIns_2024-07-01.csv')).toBe('entra-managed-identity-sign-ins');
  });
});

describe('streaming JSON scanner', () => {
  const scan = (text: string, size: number) => {
    const scanner = new JsonRecordScanner();
    const out = [];
    for (let i = 0; i < text.length; i += size) out.push(...scanner.feed(text.slice(i, i + size)));
    scanner.end();
    return out;
  };
  const sample = '\ufeff[\n {"id":"a","s":"x]},\\"{"},\n {"id":"b","n":[1,{"c":"]"}]}\n]';
  it.each([1, 2, 7, 1000])('cuts the same records at any chunk size (%i)', (size) => {
    expect(scan(sample, size)).toEqual([
      { text: '{"id":"a","s":"x]},\\"{"}', line: 2, index: 1 },
      { text: '{"id":"b","n":[1,{"c":"]"}]}', line: 3, index: 2 },
    ]);
  });
  it('reads a Graph page, skipping what follows its value array, and JSON lines', () => {
    expect(
      scan('{"@odata.context":"x","value":[{"id":"1"},{"id":"2","value":[3]}],"@odata.nextLink":"https://graph/next"}', 5).map(
        (r) => r.text,
      ),
    ).toEqual(['{"id":"1"}', '{"id":"2","value":[3]}']);
    expect(scan('{"id":"1"}\n{"id":"2"}\n', 4).map((r) => [r.text, r.line])).toEqual([
      ['{"id":"1"}', 1],
      ['{"id":"2"}', 2],
    ]);
  });
  it('says where a file is cut', () => {
    expect(() => scan('[{"id":"1"},\n{"id":', 3)).toThrow('the file ends inside a record that starts on line 2');
    expect(() => scan('[{"id":"1"}', 3)).toThrow('the file ends before its record array is closed');
    expect(() => scan('x', 3)).toThrow('unexpected "x"');
  });
});
