// The pen: one pass's drawing state over a pdfkit document and the text primitives every
// section uses (headings, paragraphs, bullets, label/value lists, status badges, tables),
// plus section bookkeeping (the page each section starts on, outline, named destinations).
// In the measuring pass (no plan yet) the same calls move the cursor exactly as the real
// pass does but skip what has no effect on layout.
import type { Writable } from 'node:stream';

import type { ControlSection, ReportModel, Rows } from '../../model.js';
import { drawPageFurniture } from './furniture.js';
import { sectionsOf } from './sections.js';
import { BOTTOM, COLOURS, CONTENT_WIDTH, type FontName, MARGIN, STATUS_TEXT } from './style.js';
import { drawTable, type Field, type TableOptions } from './table.js';
import { pdfText, textMeasure, textWidth } from './text.js';

export type Doc = PDFKit.PDFDocument;

/** What the measuring pass learns and the real pass prints: start page of each section, page count. */
export interface Plan {
  pages: Map<string, number>;
  totalPages: number;
}

export interface ParagraphOptions {
  font?: FontName;
  size?: number;
  colour?: string;
  indent?: number;
}

export interface Pen {
  doc: Doc;
  model: ReportModel;
  /** The measuring pass's result; null while measuring. */
  plan: Plan | null;
  measuring: boolean;
  /** Start page of each section opened so far in this pass. */
  pages: Map<string, number>;
  pageNumber(): number;
  state: { font: FontName; size: number; colour: string };
  setFont(font: FontName, size: number, colour?: string): void;
  newPage(): void;
  ensureSpace(height: number): void;
  /** Records where section `key` starts (contents, outline, link target) and draws its heading. */
  openSection(key: string): void;
  fit(value: string, width: number): string;
  wrap(value: string, width: number, maxLines: number): string[];
  heading(text: string, level: 0 | 1 | 2): void;
  paragraph(text: string, options?: ParagraphOptions): void;
  bullet(text: string): void;
  labelValue(pairs: [string, string][], labelWidth?: number): void;
  statusBadge(status: ControlSection['status'], x: number, y: number): number;
  /** A table of `rows` with one column per field (table.ts). */
  table<T>(rows: Rows<T>, fields: readonly Field<T>[], options?: TableOptions): Promise<void>;
  /**
   * Waits until the output has taken what pdfkit wrote so far. pdfkit pushes each
   * finished page into its readable side, and nothing moves on to the output before the
   * event loop runs: drawn in one synchronous go, the whole document (14 MB in ~100-byte
   * buffers at 100,000 accounts) would wait in memory until the end. Called at every page
   * break of a table and after every part.
   */
  drain(): Promise<void>;
}

/** Resolves when `out` drains or closes (then there is nothing left to wait for). */
function drainedOrClosed(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}

export function createPen(doc: Doc, out: Writable, model: ReportModel, plan: Plan | null): Pen {
  const measuring = plan === null;
  const sections = new Map(sectionsOf(model).map((section) => [section.key, section]));
  const pages = new Map<string, number>();
  let pageNumber = 0;
  const state: { font: FontName; size: number; colour: string } = { font: 'Helvetica', size: 9, colour: COLOURS.text };
  const setFont = (font: FontName, size: number, colour: string = COLOURS.text) => {
    state.font = font;
    state.size = size;
    state.colour = colour;
    doc.font(font).fontSize(size).fillColor(colour);
  };

  doc.on('pageAdded', () => {
    pageNumber += 1;
    if (plan) drawPageFurniture(doc, model, pageNumber, plan.totalPages, () => ({ ...state }), setFont);
    doc.x = MARGIN.left;
    doc.y = MARGIN.top;
  });

  const newPage = () => {
    doc.addPage();
  };
  const ensureSpace = (height: number) => {
    if (doc.y + height > BOTTOM) newPage();
  };

  // Outline (bookmarks) and named destinations for the contents' links.
  let currentTop: PDFKit.PDFOutline | null = null;
  const startSection = (key: string) => {
    const section = sections.get(key);
    if (!section) throw new Error(`unknown section ${key}`);
    pages.set(key, pageNumber);
    if (!measuring) {
      (doc as unknown as { addNamedDestination(name: string): void }).addNamedDestination(key);
      if (section.level === 0) {
        currentTop = doc.outline.addItem(pdfText(section.title));
      } else {
        (currentTop ?? doc.outline).addItem(pdfText(section.title));
      }
    }
  };

  // Widths from the parts (text.ts, textMeasure): the same numbers doc.widthOfString
  // gives the whole, without measuring each candidate again from its first character.
  const fit = (value: string, width: number): string => {
    const text = pdfText(value);
    if (textWidth(doc, text) <= width) return text;
    const measure = textMeasure(doc);
    const prefixes = measure.prefixes(text);
    const ellipsis = measure.units('…');
    let low = 0;
    let high = text.length;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      const head = text.slice(0, mid);
      if (measure.width(measure.joined(head, prefixes[mid]!, '…', ellipsis), mid + 1) <= width) low = mid;
      else high = mid - 1;
    }
    return `${text.slice(0, low)}…`;
  };

  // Word wrap by font metrics; a token wider than the line (an id, an e-mail) is cut
  // by characters. At most `maxLines` lines, the last one marked when cut short.
  const wrap = (value: string, width: number, maxLines: number): string[] => {
    const measure = textMeasure(doc);
    const space = measure.units(' ');
    const lines: string[] = [];
    for (const paragraph of pdfText(value).split('\n')) {
      let line = '';
      let lineUnits = 0;
      for (const word of paragraph.split(' ')) {
        const wordUnits = measure.units(word);
        const candidate = line === '' ? word : `${line} ${word}`;
        const candidateUnits = line === '' ? wordUnits : measure.joined(' ', measure.joined(line, lineUnits, ' ', space), word, wordUnits);
        if (measure.width(candidateUnits, candidate.length) <= width) {
          line = candidate;
          lineUnits = candidateUnits;
          continue;
        }
        if (line !== '') lines.push(line);
        line = word;
        lineUnits = wordUnits;
        while (measure.width(lineUnits, line.length) > width) {
          const prefixes = measure.prefixes(line);
          let cut = line.length - 1;
          while (cut > 1 && measure.width(prefixes[cut]!, cut) > width) cut -= 1;
          lines.push(line.slice(0, cut));
          line = line.slice(cut);
          lineUnits = measure.units(line);
        }
      }
      lines.push(line);
    }
    if (lines.length > maxLines) {
      const kept = lines.slice(0, maxLines);
      kept[maxLines - 1] = fit(`${kept[maxLines - 1] ?? ''} …`, width);
      return kept;
    }
    return lines;
  };

  const heading = (text: string, level: 0 | 1 | 2) => {
    const size = level === 0 ? 16 : level === 1 ? 12.5 : 10.5;
    ensureSpace(size * 3);
    if (level > 0 && doc.y > MARGIN.top + 2) doc.y += level === 1 ? 8 : 5;
    setFont('Helvetica-Bold', size, level === 0 ? COLOURS.accent : COLOURS.text);
    doc.text(pdfText(text), MARGIN.left, doc.y, { width: CONTENT_WIDTH });
    doc.y += level === 0 ? 8 : 3;
  };

  const paragraph = (text: string, options: ParagraphOptions = {}) => {
    setFont(options.font ?? 'Helvetica', options.size ?? 9, options.colour ?? COLOURS.text);
    ensureSpace(state.size * 2.5);
    const indent = options.indent ?? 0;
    doc.text(pdfText(text), MARGIN.left + indent, doc.y, { width: CONTENT_WIDTH - indent, lineGap: 1.5 });
    doc.y += 5;
  };

  const bullet = (text: string) => {
    setFont('Helvetica', 9);
    ensureSpace(24);
    const y = doc.y;
    doc.text('•', MARGIN.left + 4, y, { lineBreak: false });
    doc.text(pdfText(text), MARGIN.left + 14, y, { width: CONTENT_WIDTH - 14, lineGap: 1.5 });
    doc.y += 3;
  };

  const labelValue = (pairs: [string, string][], labelWidth = 120) => {
    for (const [label, value] of pairs) {
      setFont('Helvetica-Bold', 9);
      const lines = wrap(value, CONTENT_WIDTH - labelWidth, 4);
      ensureSpace(lines.length * 12 + 2);
      const y = doc.y;
      doc.text(pdfText(label), MARGIN.left, y, { lineBreak: false });
      setFont('Helvetica', 9);
      lines.forEach((line, index) => doc.text(line, MARGIN.left + labelWidth, y + index * 12, { lineBreak: false }));
      doc.y = y + lines.length * 12 + 2;
    }
  };

  const statusBadge = (status: ControlSection['status'], x: number, y: number) => {
    const label = STATUS_TEXT[status];
    doc.font('Helvetica-Bold').fontSize(8);
    const width = textWidth(doc, label) + 10;
    doc.roundedRect(x, y - 1.5, width, 11.5, 2).fill(COLOURS[status]);
    doc.fillColor('#ffffff').text(label, x + 5, y + 1, { lineBreak: false });
    setFont(state.font, state.size, state.colour);
    return width;
  };

  const drain = async () => {
    while ((doc.readableLength > 0 || out.writableNeedDrain) && !out.destroyed) {
      if (out.writableNeedDrain) await drainedOrClosed(out);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  };

  const pen: Pen = {
    doc,
    model,
    plan,
    measuring,
    pages,
    pageNumber: () => pageNumber,
    state,
    setFont,
    newPage,
    ensureSpace,
    openSection: (key) => {
      startSection(key);
      const section = sections.get(key)!;
      heading(section.heading ?? section.title, section.headingLevel);
    },
    fit,
    wrap,
    heading,
    paragraph,
    bullet,
    labelValue,
    statusBadge,
    table: (rows, fields, options) => drawTable(pen, rows, fields, options),
    drain,
  };
  return pen;
}
