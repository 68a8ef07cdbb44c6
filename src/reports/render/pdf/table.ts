// Tables: a shaded header row repeated on every page the table spans, zebra rows, cells
// cut or wrapped to their column by font metrics.
import type { Pen } from './pen.js';
import { BOTTOM, COLOURS, CONTENT_WIDTH, type FontName, MARGIN } from './style.js';
import { pdfText } from './text.js';

export interface Column {
  header: string;
  width: number;
  align?: 'left' | 'right';
  font?: FontName;
  /** Colour of a cell by its first line (status words). */
  colourOf?: (text: string) => string | undefined;
}

/** A cell: one text, or several lines of it. */
export type Cell = string | string[];

export interface TableOptions {
  size?: number;
  lines?: number;
  maxLines?: number;
  empty?: string;
}

/**
 * A table. With `lines` set, every row is exactly that many lines high and cells are
 * cut to fit, so the measuring pass can count rows without laying them out; without
 * it, rows grow to their wrapped content (up to `maxLines`). Rows are consumed one at a
 * time, so a generator keeps a large population out of memory.
 */
export function drawTable(pen: Pen, columns: Column[], rows: Iterable<Cell[]>, options: TableOptions = {}): void {
  const { doc, measuring, setFont, newPage, ensureSpace, fit, wrap } = pen;
  const size = options.size ?? 7.5;
  const lineHeight = size * 1.28;
  const padding = 3;
  const headerHeight = lineHeight + padding * 2;
  const drawHeader = () => {
    if (measuring) {
      doc.y += headerHeight;
      return;
    }
    const y = doc.y;
    doc.rect(MARGIN.left, y, CONTENT_WIDTH, headerHeight).fill(COLOURS.headerFill);
    setFont('Helvetica-Bold', size);
    let x = MARGIN.left;
    for (const column of columns) {
      const label = fit(column.header, column.width - padding * 2);
      const dx = column.align === 'right' ? column.width - padding - doc.widthOfString(label) : padding;
      doc.text(label, x + dx, y + padding, { lineBreak: false });
      x += column.width;
    }
    doc.y = y + headerHeight;
  };
  ensureSpace(headerHeight + lineHeight * (options.lines ?? 1) + padding * 2);
  drawHeader();
  let index = 0;
  for (const row of rows) {
    let cellLines: string[][] | null = null;
    let lineCount = options.lines ?? 1;
    if (options.lines === undefined || !measuring) {
      cellLines = row.map((cell, column) => {
        const spec = columns[column]!;
        doc.font(spec.font ?? 'Helvetica').fontSize(size);
        const width = spec.width - padding * 2;
        const parts = Array.isArray(cell) ? cell : [cell];
        if (options.lines !== undefined) return parts.slice(0, options.lines).map((part) => fit(part, width));
        return parts.flatMap((part) => wrap(part, width, options.maxLines ?? 6)).slice(0, options.maxLines ?? 6);
      });
      if (options.lines === undefined) lineCount = Math.max(1, ...cellLines.map((lines) => lines.length));
    }
    const rowHeight = lineCount * lineHeight + padding * 2;
    if (doc.y + rowHeight > BOTTOM) {
      newPage();
      drawHeader();
    }
    const y = doc.y;
    if (!measuring && cellLines) {
      if (index % 2 === 1) doc.rect(MARGIN.left, y, CONTENT_WIDTH, rowHeight).fill(COLOURS.zebra);
      let x = MARGIN.left;
      cellLines.forEach((lines, column) => {
        const spec = columns[column]!;
        const colour = spec.colourOf?.(lines[0] ?? '');
        doc
          .font(colour ? 'Helvetica-Bold' : (spec.font ?? 'Helvetica'))
          .fontSize(size)
          .fillColor(colour ?? COLOURS.text);
        lines.forEach((line, lineIndex) => {
          const dx = spec.align === 'right' ? spec.width - padding - doc.widthOfString(line) : padding;
          doc.text(line, x + dx, y + padding + lineIndex * lineHeight, { lineBreak: false });
        });
        x += spec.width;
      });
      doc
        .moveTo(MARGIN.left, y + rowHeight)
        .lineTo(MARGIN.left + CONTENT_WIDTH, y + rowHeight)
        .lineWidth(0.25)
        .strokeColor(COLOURS.rule)
        .stroke();
    }
    doc.y = y + rowHeight;
    index += 1;
  }
  if (index === 0) {
    setFont('Helvetica-Oblique', size, COLOURS.muted);
    const y = doc.y;
    doc.text(pdfText(options.empty ?? 'None.'), MARGIN.left + padding, y + padding, { lineBreak: false });
    doc.y = y + lineHeight + padding * 2;
  }
  doc.x = MARGIN.left;
  doc.y += 8;
  setFont('Helvetica', 9);
}
