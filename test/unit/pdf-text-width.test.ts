// textWidth (src/reports/render/pdf/text.ts) remembers pdfkit's widths by font, size and
// text. A key that left out the font or the size would hand one font's width to another
// and move every right-aligned number and every wrapped line; the renderer's bytes test
// (report-pdf-bytes) would catch it only for the fonts its sample happens to use.
import fc from 'fast-check';
import PDFDocument from 'pdfkit';
import { describe, expect, it } from 'vitest';

import { textMeasure, textWidth } from '../../src/reports/render/pdf/text.js';

describe('textWidth', () => {
  it('gives what pdfkit measures, for each font and size, asked in any order', () => {
    const doc = new PDFDocument({ autoFirstPage: false });
    const texts = ['WAVE', 'alice@example.com', '1,234,567', 'AV To Ty'];
    const cases = (['Helvetica', 'Helvetica-Bold', 'Courier'] as const).flatMap((font) =>
      [7.5, 9, 12.5].flatMap((size) => texts.map((text) => ({ font, size, text }))),
    );
    const measured = cases.map(({ font, size, text }) => doc.font(font).fontSize(size).widthOfString(text));
    // Remembered in one order, asked again in the reverse one.
    for (const { font, size, text } of cases) textWidth(doc.font(font).fontSize(size), text);
    const remembered = [...cases].reverse().map(({ font, size, text }) => textWidth(doc.font(font).fontSize(size), text));
    expect(remembered.reverse()).toEqual(measured);
    // The cases differ from each other: a key without the font or the size would fail above.
    expect(new Set(measured.slice(0, 12)).size).toBe(12);
    expect(measured[0]).not.toBe(measured[12]);
    // Kerning is part of pdfkit's width ("AV" is narrower than "A" + "V").
    doc.font('Helvetica').fontSize(10);
    expect(textWidth(doc, 'AV')).toBeLessThan(textWidth(doc, 'A') + textWidth(doc, 'V'));
  });
});

describe('textMeasure', () => {
  // Letters with many kerning pairs in Helvetica's metrics (AV, To, Ty, LT, r., y,), and
  // the characters the report prints around them.
  const text = fc.string({ unit: fc.constantFrom(...'AVTWYLPFoyrw.,-_@ 0123456789aeé…'), maxLength: 40 });

  it('gives, from the parts, exactly the width pdfkit measures for the whole', () => {
    const doc = new PDFDocument({ autoFirstPage: false });
    fc.assert(
      fc.property(
        fc.constantFrom('Helvetica', 'Helvetica-Bold', 'Courier'),
        fc.constantFrom(6.5, 7.5, 9, 10.5),
        text,
        text,
        (font, size, left, right) => {
          doc.font(font).fontSize(size);
          const measure = textMeasure(doc);
          const joined = measure.joined(left, measure.units(left), right, measure.units(right));
          expect(measure.width(joined, left.length + right.length)).toBe(doc.widthOfString(left + right));
          const prefixes = measure.prefixes(left + right);
          for (let length = 0; length <= left.length + right.length; length += 1)
            expect(measure.width(prefixes[length]!, length)).toBe(doc.widthOfString((left + right).slice(0, length)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
