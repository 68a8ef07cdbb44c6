// The contents: every section of the table in sections.ts with its start page (from the measuring pass) and a link to it. The measuring pass lays it out with placeholder numbers of the same line height.
import type { Pen } from '../pen.js';
import { sectionsOf } from '../sections.js';
import { COLOURS, CONTENT_WIDTH, MARGIN, PAGE } from '../style.js';
import { textWidth } from '../text.js';

export function drawContents(pen: Pen): void {
  const { doc, measuring, plan, setFont, newPage, ensureSpace, fit, heading, model } = pen;
  newPage();
  heading('Contents', 0);
  const tocSize = 10;
  for (const section of sectionsOf(model)) {
    const lineHeight = 16;
    ensureSpace(lineHeight);
    const y = doc.y;
    const indent = section.level === 0 ? 0 : 16;
    setFont(section.level === 0 ? 'Helvetica-Bold' : 'Helvetica', tocSize);
    const number = plan ? String(plan.pages.get(section.key) ?? '') : '000';
    const numberWidth = textWidth(doc, number);
    const title = fit(section.title, CONTENT_WIDTH - indent - 50);
    if (!measuring) {
      doc.text(title, MARGIN.left + indent, y, { lineBreak: false });
      const titleEnd = MARGIN.left + indent + textWidth(doc, title) + 4;
      const numberX = PAGE.width - MARGIN.right - numberWidth;
      doc
        .moveTo(titleEnd, y + tocSize - 1)
        .lineTo(numberX - 4, y + tocSize - 1)
        .dash(0.5, { space: 2.5 })
        .lineWidth(0.6)
        .strokeColor(COLOURS.neutral)
        .stroke()
        .undash();
      doc.text(number, numberX, y, { lineBreak: false });
      doc.goTo(MARGIN.left, y - 2, CONTENT_WIDTH, lineHeight, section.key);
    }
    doc.y = y + lineHeight;
  }
}
