// Tables: a shaded header row repeated on every page the table spans, zebra rows, cells
// cut or wrapped to their column by font metrics. Every table of the report is drawn
// here, from its rows and one list of fields: each field is a column (header, width,
// style) and the cell it shows of a row.
import type { Rows } from '../../model.js';
import type { Pen } from './pen.js';
import { BOTTOM, COLOURS, CONTENT_WIDTH, type FontName, MARGIN } from './style.js';
import { pdfText, textWidth } from './text.js';

/** A cell: one text, or several lines of it. */
export type Cell = string | string[];

export interface Field<T> {
  header: string;
  width: number;
  cell: (row: T) => Cell;
  align?: 'left' | 'right';
  font?: FontName;
  /** Colour of a cell by its first line (status words). */
  colourOf?: (text: string) => string | undefined;
}

export interface TableOptions {
  size?: number;
  /** Every row exactly this many lines high, cells cut to fit. */
  lines?: number;
  /** Without `lines`: rows grow to their wrapped content, up to this many lines (6). */
  maxLines?: number;
  /** What the table says when it has no rows. */
  empty?: string;
}

const PADDING = 3;

/**
 * A table of `rows`, read one at a time (a population on disk is never loaded whole).
 * With `lines` set, every row has the same height, so the measuring pass only counts
 * the rows and never reads them; without it, rows grow to their wrapped content. At
 * each page break the finished pages go to the output before the table goes on.
 */
export async function drawTable<T>(pen: Pen, rows: Rows<T>, fields: readonly Field<T>[], options: TableOptions = {}): Promise<void> {
  const { doc, measuring, setFont, newPage, ensureSpace, fit, wrap, drain } = pen;
  const size = options.size ?? 7.5;
  const lineHeight = size * 1.28;
  const headerHeight = lineHeight + PADDING * 2;
  const maxLines = options.maxLines ?? 6;

  const drawHeader = () => {
    if (measuring) {
      doc.y += headerHeight;
      return;
    }
    const y = doc.y;
    doc.rect(MARGIN.left, y, CONTENT_WIDTH, headerHeight).fill(COLOURS.headerFill);
    setFont('Helvetica-Bold', size);
    let x = MARGIN.left;
    for (const field of fields) {
      const label = fit(field.header, field.width - PADDING * 2);
      const dx = field.align === 'right' ? field.width - PADDING - textWidth(doc, label) : PADDING;
      doc.text(label, x + dx, y + PADDING, { lineBreak: false });
      x += field.width;
    }
    doc.y = y + headerHeight;
  };

  // The lines of each cell of a row, cut or wrapped to its column.
  const layout = (row: T): string[][] =>
    fields.map((field) => {
      doc.font(field.font ?? 'Helvetica').fontSize(size);
      const width = field.width - PADDING * 2;
      const cell = field.cell(row);
      const parts = Array.isArray(cell) ? cell : [cell];
      if (options.lines !== undefined) return parts.slice(0, options.lines).map((part) => fit(part, width));
      return parts.flatMap((part) => wrap(part, width, maxLines)).slice(0, maxLines);
    });

  const drawRow = (cellLines: string[][], y: number, height: number, index: number) => {
    if (index % 2 === 1) doc.rect(MARGIN.left, y, CONTENT_WIDTH, height).fill(COLOURS.zebra);
    let x = MARGIN.left;
    cellLines.forEach((lines, column) => {
      const field = fields[column]!;
      const colour = field.colourOf?.(lines[0] ?? '');
      doc
        .font(colour ? 'Helvetica-Bold' : (field.font ?? 'Helvetica'))
        .fontSize(size)
        .fillColor(colour ?? COLOURS.text);
      lines.forEach((line, lineIndex) => {
        const dx = field.align === 'right' ? field.width - PADDING - textWidth(doc, line) : PADDING;
        doc.text(line, x + dx, y + PADDING + lineIndex * lineHeight, { lineBreak: false });
      });
      x += field.width;
    });
    doc
      .moveTo(MARGIN.left, y + height)
      .lineTo(MARGIN.left + CONTENT_WIDTH, y + height)
      .lineWidth(0.25)
      .strokeColor(COLOURS.rule)
      .stroke();
  };

  // Places the next row (breaking the page first if it does not fit) and draws it.
  let index = 0;
  const place = async (lineCount: number, cellLines: string[][] | null) => {
    const height = lineCount * lineHeight + PADDING * 2;
    if (doc.y + height > BOTTOM) {
      newPage();
      await drain();
      drawHeader();
    }
    const y = doc.y;
    if (cellLines) drawRow(cellLines, y, height, index);
    doc.y = y + height;
    index += 1;
  };

  ensureSpace(headerHeight + lineHeight * (options.lines ?? 1) + PADDING * 2);
  drawHeader();
  if (measuring && options.lines !== undefined) {
    for (let counted = 0; counted < rows.length; counted += 1) await place(options.lines, null);
  } else {
    for (const row of rows) {
      const cellLines = layout(row);
      await place(options.lines ?? Math.max(1, ...cellLines.map((lines) => lines.length)), measuring ? null : cellLines);
    }
  }
  if (index === 0) {
    setFont('Helvetica-Oblique', size, COLOURS.muted);
    const y = doc.y;
    doc.text(pdfText(options.empty ?? 'None.'), MARGIN.left + PADDING, y + PADDING, { lineBreak: false });
    doc.y = y + lineHeight + PADDING * 2;
  }
  doc.x = MARGIN.left;
  doc.y += 8;
  setFont('Helvetica', 9);
}
