// Page furniture: the running header (from page 2) and the footer with the content hash
// and "Page N of M". Drawn in the margins when pdfkit adds a page, in the real pass only
// (the measuring pass does not know M yet, and furniture never moves the cursor).
import type { ReportModel } from '../../model.js';
import { periodLabel } from '../naming.js';
import type { Doc } from './pen.js';
import { COLOURS, type FontName, MARGIN, PAGE } from './style.js';
import { pdfText, textWidth } from './text.js';

type FontState = { font: FontName; size: number; colour: string };

export function drawPageFurniture(
  doc: Doc,
  model: ReportModel,
  pageNumber: number,
  totalPages: number,
  currentFont: () => FontState,
  setFont: (font: FontName, size: number, colour: string) => void,
): void {
  const integrity = model.integrity!;
  const headerLabel = pdfText(`${model.title} · ${periodLabel(model.period)}${model.provisional ? ' · PROVISIONAL' : ''}`);
  const saved = currentFont();
  // Header and footer sit in the margins; lineBreak false keeps pdfkit from
  // treating text below the bottom margin as overflow onto a new page.
  doc.font('Helvetica').fontSize(7).fillColor(COLOURS.muted);
  if (pageNumber > 1) {
    doc.text(headerLabel, MARGIN.left, 30, { lineBreak: false });
    doc
      .moveTo(MARGIN.left, 42)
      .lineTo(PAGE.width - MARGIN.right, 42)
      .lineWidth(0.5)
      .strokeColor(COLOURS.rule)
      .stroke();
  }
  const footerY = PAGE.height - 36;
  doc
    .moveTo(MARGIN.left, footerY - 6)
    .lineTo(PAGE.width - MARGIN.right, footerY - 6)
    .lineWidth(0.5)
    .strokeColor(COLOURS.rule)
    .stroke();
  doc.font('Courier').fontSize(6.5).text(`SHA-256 ${integrity.contentSha256}`, MARGIN.left, footerY, { lineBreak: false });
  const pageText = `Page ${pageNumber} of ${totalPages}`;
  doc.font('Helvetica').fontSize(7.5);
  doc.text(pageText, PAGE.width - MARGIN.right - textWidth(doc, pageText), footerY, { lineBreak: false });
  setFont(saved.font, saved.size, saved.colour);
}
