// The PDF an auditor reads: cover, contents, executive summary with charts, one
// section per control, appendices with the complete populations. Drawn with pdfkit's
// standard fonts and vector primitives only.
//
// Page numbers in the contents need the layout before the document is written, and a
// streamed document cannot go back to a page it has flushed. So the renderer runs
// twice over the same layout code: a measuring pass into a sink that discards bytes,
// which records the page each section starts on and the total page count, then the
// real pass, which writes contents and "page N of M" from those figures. Both passes
// page-break at the same places because every decision depends only on the model and
// on font metrics. In the measuring pass, fixed-height table rows (the large
// population appendices) are counted, not drawn, so it costs a fraction of the real
// pass. Neither pass buffers pages (bufferPages off): pdfkit writes each finished page
// to the stream, so memory stays flat however many accounts the appendices list.
import { Writable } from 'node:stream';

import PDFDocument from 'pdfkit';

import { canonicalReportJson } from '../canonical-json.js';
import type { ControlSection, Finding, ReportModel, Severity } from '../model.js';
import { periodLabel, reportBaseName } from './naming.js';
import { subjectLabel } from './oscal.js';

type Doc = PDFKit.PDFDocument;
type FontName = 'Helvetica' | 'Helvetica-Bold' | 'Helvetica-Oblique' | 'Courier';

const PAGE = { width: 595.28, height: 841.89 };
const MARGIN = { top: 58, bottom: 58, left: 42, right: 42 };
const CONTENT_WIDTH = PAGE.width - MARGIN.left - MARGIN.right;
const BOTTOM = PAGE.height - MARGIN.bottom;

const COLOURS = {
  text: '#1a1a1a',
  muted: '#5f6368',
  rule: '#c8ccd0',
  headerFill: '#eef1f4',
  zebra: '#f7f8f9',
  accent: '#1f4e79',
  effective: '#2e7d32',
  exceptions: '#c62828',
  incomplete: '#e65100',
  'not-evaluable': '#616161',
  high: '#c62828',
  medium: '#e65100',
  low: '#1f4e79',
  success: '#1f77b4',
  failure: '#d62728',
  neutral: '#9e9e9e',
} as const;

const STATUS_TEXT: Record<ControlSection['status'], string> = {
  effective: 'EFFECTIVE',
  exceptions: 'EXCEPTIONS',
  incomplete: 'INCOMPLETE',
  'not-evaluable': 'NOT EVALUABLE',
};

const STATUS_MEANING: Record<ControlSection['status'], string> = {
  effective: 'Every rule behind the control was evaluated over full coverage of its sources and found no exception.',
  exceptions: 'At least one exception was found; each is listed below with the evidence records that support it.',
  incomplete:
    'The rules were evaluated, but part of the period lacks coverage for a source the control relies on, so the absence of exceptions is not proven for that part. The gaps are listed below.',
  'not-evaluable':
    'A rule behind the control lacked the data it needs (licence, edition or configuration). Missing data is never reported as effective; the reason is stated below.',
};

// Standard PDF fonts encode WinAnsi only; anything else would print as garbage.
const REPLACEMENTS: Record<string, string> = { '→': '->', '←': '<-', '≥': '>=', '≤': '<=', '✓': 'yes', '✗': 'no' };
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
export function pdfText(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 9 || code === 10) out += ' ';
    else if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char)) out += char;
    else out += REPLACEMENTS[char] ?? '?';
  }
  return out;
}

function when(value: string | null | undefined): string {
  if (!value) return '-';
  return value.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') + ' UTC';
}
function day(value: string | null | undefined): string {
  return value ? value.slice(0, 10) : '-';
}
function count(value: number): string {
  return value.toLocaleString('en-GB');
}

interface Section {
  key: string;
  title: string;
  level: 0 | 1;
}

interface Plan {
  pages: Map<string, number>;
  totalPages: number;
}

interface Column {
  header: string;
  width: number;
  align?: 'left' | 'right';
  font?: FontName;
  /** Colour of a cell by its first line (status words). */
  colourOf?: (text: string) => string | undefined;
}

const STATUS_BY_TEXT = new Map<string, string>(
  Object.entries(STATUS_TEXT).map(([status, text]) => [text, COLOURS[status as ControlSection['status']]]),
);
const statusColour = (text: string) => STATUS_BY_TEXT.get(text) ?? (text === 'not-evaluable' ? COLOURS['not-evaluable'] : undefined);

type Cell = string | string[];

function sectionsOf(model: ReportModel): Section[] {
  return [
    { key: 'summary', title: 'Executive summary', level: 0 },
    { key: 'controls', title: 'Controls', level: 0 },
    ...model.controls.map((control): Section => ({ key: `control:${control.id}`, title: `${control.id} ${control.title}`, level: 1 })),
    { key: 'appendix-a', title: 'Appendix A. Populations', level: 0 },
    { key: 'pop:human', title: 'A.1 Human Metabase accounts', level: 1 },
    { key: 'pop:terminated', title: 'A.2 People terminated in the period', level: 1 },
    { key: 'pop:privileged', title: 'A.3 Privileged accounts', level: 1 },
    { key: 'pop:changes', title: 'A.4 Privilege changes in the period', level: 1 },
    { key: 'pop:nonhuman', title: 'A.5 Non-human accounts', level: 1 },
    { key: 'pop:credentials', title: 'A.6 Credentials of watched applications', level: 1 },
    { key: 'pop:reconciliation', title: 'A.7 Reconciliation with the sources', level: 1 },
    { key: 'appendix-b', title: 'Appendix B. Coverage and gaps per source', level: 0 },
    { key: 'appendix-c', title: 'Appendix C. Rules and parameters', level: 0 },
    { key: 'appendix-d', title: 'Appendix D. Methodology', level: 0 },
    { key: 'appendix-e', title: 'Appendix E. How to verify this report', level: 0 },
  ];
}

/**
 * Renders the signed model as a PDF into `out` (a file stream, an HTTP response).
 * Resolves with the page count once `out` has received the whole document.
 */
export async function renderPdf(signed: ReportModel, out: Writable): Promise<{ pages: number }> {
  if (!signed.integrity) throw new TypeError('PDF rendering needs a signed model (integrity missing)');
  // Render from the canonical form, so the bytes depend on the model's content only: the
  // model read back from the store (jsonb reorders keys) gives the same PDF, and so the
  // same manifest hash, as the one built in memory.
  const model = JSON.parse(canonicalReportJson(signed)) as ReportModel;
  const sink = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const plan = await renderPass(model, sink, null);
  const written = await renderPass(model, out, plan);
  // The contents and "page N of M" are only right if both passes broke pages alike.
  const drift = [...plan.pages].find(([key, page]) => written.pages.get(key) !== page);
  if (written.totalPages !== plan.totalPages || drift) {
    throw new Error(
      `PDF layout differs between passes (${drift ? `section ${drift[0]}` : `${written.totalPages} vs ${plan.totalPages} pages`})`,
    );
  }
  return { pages: plan.totalPages };
}

function renderPass(model: ReportModel, out: Writable, plan: Plan | null): Promise<Plan> {
  const measuring = plan === null;
  const integrity = model.integrity!;
  const doc: Doc = new PDFDocument({
    size: 'A4',
    margins: MARGIN,
    bufferPages: false,
    autoFirstPage: false,
    compress: true,
    info: {
      Title: pdfText(model.title),
      Author: 'accesstrail',
      Subject: `${model.framework} access report ${periodLabel(model.period)}`,
      Keywords: `content-sha256:${integrity.contentSha256} key-id:${integrity.signature.keyId}`,
      // A fixed creation date keeps the file's bytes (and pdfkit's document id, which
      // is derived from the info dictionary) a function of the model.
      CreationDate: new Date(model.generatedAt),
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
    doc.on('error', reject);
  });
  doc.pipe(out);

  const pages = new Map<string, number>();
  let pageNumber = 0;
  const state: { font: FontName; size: number; colour: string } = { font: 'Helvetica', size: 9, colour: COLOURS.text };
  const setFont = (font: FontName, size: number, colour: string = COLOURS.text) => {
    state.font = font;
    state.size = size;
    state.colour = colour;
    doc.font(font).fontSize(size).fillColor(colour);
  };
  const headerLabel = pdfText(`${model.title} · ${periodLabel(model.period)}${model.provisional ? ' · PROVISIONAL' : ''}`);

  doc.on('pageAdded', () => {
    pageNumber += 1;
    if (!measuring) {
      const saved = { ...state };
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
      const pageText = `Page ${pageNumber} of ${plan.totalPages}`;
      doc.font('Helvetica').fontSize(7.5);
      doc.text(pageText, PAGE.width - MARGIN.right - doc.widthOfString(pageText), footerY, { lineBreak: false });
      setFont(saved.font, saved.size, saved.colour);
    }
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
  const outlineParents = new Map<string, PDFKit.PDFOutline>();
  let currentTop: PDFKit.PDFOutline | null = null;
  const startSection = (key: string) => {
    const section = sectionsOf(model).find((entry) => entry.key === key);
    if (!section) throw new Error(`unknown section ${key}`);
    pages.set(key, pageNumber);
    if (!measuring) {
      (doc as unknown as { addNamedDestination(name: string): void }).addNamedDestination(key);
      if (section.level === 0) {
        currentTop = doc.outline.addItem(pdfText(section.title));
        outlineParents.set(key, currentTop);
      } else {
        (currentTop ?? doc.outline).addItem(pdfText(section.title));
      }
    }
  };

  const fit = (value: string, width: number): string => {
    const text = pdfText(value);
    if (doc.widthOfString(text) <= width) return text;
    let low = 0;
    let high = text.length;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (doc.widthOfString(`${text.slice(0, mid)}…`) <= width) low = mid;
      else high = mid - 1;
    }
    return `${text.slice(0, low)}…`;
  };

  // Word wrap by font metrics; a token wider than the line (an id, an e-mail) is cut
  // by characters. At most `maxLines` lines, the last one marked when cut short.
  const wrap = (value: string, width: number, maxLines: number): string[] => {
    const lines: string[] = [];
    for (const paragraph of pdfText(value).split('\n')) {
      let line = '';
      for (const word of paragraph.split(' ')) {
        const candidate = line === '' ? word : `${line} ${word}`;
        if (doc.widthOfString(candidate) <= width) {
          line = candidate;
          continue;
        }
        if (line !== '') lines.push(line);
        line = word;
        while (doc.widthOfString(line) > width) {
          let cut = line.length - 1;
          while (cut > 1 && doc.widthOfString(line.slice(0, cut)) > width) cut -= 1;
          lines.push(line.slice(0, cut));
          line = line.slice(cut);
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

  const paragraph = (text: string, options: { font?: FontName; size?: number; colour?: string; indent?: number } = {}) => {
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
    const width = doc.widthOfString(label) + 10;
    doc.roundedRect(x, y - 1.5, width, 11.5, 2).fill(COLOURS[status]);
    doc.fillColor('#ffffff').text(label, x + 5, y + 1, { lineBreak: false });
    setFont(state.font, state.size, state.colour);
    return width;
  };

  /**
   * A table. With `lines` set, every row is exactly that many lines high and cells are
   * cut to fit, so the measuring pass can count rows without laying them out; without
   * it, rows grow to their wrapped content (up to `maxLines`).
   */
  const table = (
    columns: Column[],
    rows: Iterable<Cell[]>,
    options: { size?: number; lines?: number; maxLines?: number; empty?: string } = {},
  ) => {
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
  };

  // ---------------------------------------------------------------- cover
  newPage();
  setFont('Helvetica', 10, COLOURS.muted);
  doc.text('accesstrail · access evidence report', MARGIN.left, 110, { lineBreak: false });
  setFont('Helvetica-Bold', 24, COLOURS.accent);
  doc.text(pdfText(model.title), MARGIN.left, 135, { width: CONTENT_WIDTH });
  doc.y += 18;
  if (model.provisional) {
    setFont('Helvetica-Bold', 11, COLOURS.exceptions);
    doc.text('PROVISIONAL: the period had not ended when this report was generated; figures may change.', MARGIN.left, doc.y, {
      width: CONTENT_WIDTH,
    });
    doc.y += 10;
  }
  labelValue([
    ['Framework', model.framework === 'soc2' ? 'SOC 2 (AICPA Trust Services Criteria)' : 'ISO/IEC 27001:2022 Annex A'],
    ['Period', `${when(model.period.from)} to ${when(model.period.to)} (${periodLabel(model.period)}; end excluded)`],
    ['As of', when(model.asOf)],
    ['State observed at', model.stateObservedAt ? when(model.stateObservedAt) : 'as of (snapshot at or before the as-of instant)'],
    ['Generated at', when(model.generatedAt)],
    ['Provisional', model.provisional ? 'yes' : 'no'],
    ['Schema version', model.schemaVersion],
    ['Controls', `${model.controls.length}`],
    ['Findings', `${count(model.findings.length)}`],
  ]);
  doc.y += 16;
  setFont('Helvetica-Bold', 10, COLOURS.accent);
  doc.text('Integrity', MARGIN.left, doc.y, { lineBreak: false });
  doc.y += 16;
  labelValue([
    ['Content SHA-256', integrity.contentSha256],
    ['Signature', `${integrity.signature.alg}, key id ${integrity.signature.keyId}`],
    ['Report file', `${reportBaseName(model)}.json`],
  ]);
  doc.y += 8;
  paragraph(
    'Every page carries the content hash in its footer. The hash covers the report JSON; Appendix E explains how to check the signature and that this document belongs to it.',
    { size: 8.5, colour: COLOURS.muted },
  );

  // ---------------------------------------------------------------- contents
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
    const numberWidth = doc.widthOfString(number);
    const title = fit(section.title, CONTENT_WIDTH - indent - 50);
    if (!measuring) {
      doc.text(title, MARGIN.left + indent, y, { lineBreak: false });
      const titleEnd = MARGIN.left + indent + doc.widthOfString(title) + 4;
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

  // ---------------------------------------------------------------- summary
  newPage();
  startSection('summary');
  heading('Executive summary', 0);
  const statusCounts = { effective: 0, exceptions: 0, incomplete: 0, 'not-evaluable': 0 } as Record<ControlSection['status'], number>;
  for (const control of model.controls) statusCounts[control.status] += 1;
  const severityCounts: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  for (const finding of model.findings) severityCounts[finding.severity] += 1;
  paragraph(
    `This report covers ${when(model.period.from)} to ${when(model.period.to)}, with state evaluated as of ${when(model.asOf)}. ` +
      `Of ${model.controls.length} controls, ${statusCounts.effective} are effective, ${statusCounts.exceptions} have exceptions, ${statusCounts.incomplete} are incomplete and ${statusCounts['not-evaluable']} are not evaluable. ` +
      `The rules raised ${count(model.findings.length)} findings (${severityCounts.high} high, ${severityCounts.medium} medium, ${severityCounts.low} low) over ${count(model.populations.humanAccounts.length)} human Metabase accounts.`,
  );
  heading('Control status', 2);
  table(
    [
      { header: 'Control', width: 55 },
      { header: 'Title', width: 250 },
      { header: 'Status', width: 90, colourOf: statusColour },
      { header: 'Findings', width: 50, align: 'right' },
      { header: 'Page', width: CONTENT_WIDTH - 445, align: 'right' },
    ],
    model.controls.map((control) => [
      control.id,
      control.title,
      STATUS_TEXT[control.status],
      count(control.findingIds.length),
      plan ? String(plan.pages.get(`control:${control.id}`) ?? '') : '',
    ]),
    { lines: 1, size: 8.5 },
  );
  heading('Findings by severity', 2);
  table(
    [
      { header: 'Severity', width: 100 },
      { header: 'Findings', width: 80, align: 'right' },
    ],
    (['high', 'medium', 'low'] as const).map((severity) => [severity, count(severityCounts[severity])]),
    { lines: 1, size: 8.5 },
  );
  heading('Findings by rule', 2);
  table(
    [
      { header: 'Rule', width: 130 },
      { header: 'Title', width: 150 },
      { header: 'Severity', width: 50 },
      { header: 'Status', width: 75, colourOf: statusColour },
      { header: 'Findings', width: 50, align: 'right' },
      { header: 'Not judged', width: CONTENT_WIDTH - 455, align: 'right' },
    ],
    model.rules.map((rule) => [rule.id, rule.title, rule.severity, rule.status, count(rule.findingCount), count(rule.notEvaluableCount)]),
    { lines: 1, size: 8 },
  );
  paragraph(
    '"Not judged" counts the instants (logins, sign-ins) a rule could not evaluate because a source had no coverage at that time; they are never counted as passing.',
    { size: 7.5, colour: COLOURS.muted },
  );

  // Charts: vector primitives only.
  const weeks = model.statistics.signInsPerWeek;
  {
    const chartHeight = 150;
    ensureSpace(chartHeight + 70);
    heading('Sign-ins to Metabase per week', 2);
    const top = doc.y;
    const left = MARGIN.left + 40;
    const width = CONTENT_WIDTH - 50;
    const max = Math.max(1, ...weeks.map((week) => week.successful + week.failed));
    const magnitude = 10 ** Math.floor(Math.log10(max));
    const niceMax = Math.ceil(max / magnitude) * magnitude;
    if (!measuring) {
      setFont('Helvetica', 6.5, COLOURS.muted);
      for (let step = 0; step <= 4; step += 1) {
        const value = (niceMax * step) / 4;
        const y = top + chartHeight - (chartHeight * step) / 4;
        doc
          .moveTo(left, y)
          .lineTo(left + width, y)
          .lineWidth(0.3)
          .strokeColor(COLOURS.rule)
          .stroke();
        const label = count(Math.round(value));
        doc.text(label, left - 4 - doc.widthOfString(label), y - 3, { lineBreak: false });
      }
      const slot = width / Math.max(1, weeks.length);
      const barWidth = Math.max(1, slot * 0.7);
      const labelEvery = Math.max(1, Math.ceil(weeks.length / 14));
      weeks.forEach((week, index) => {
        const x = left + index * slot + (slot - barWidth) / 2;
        const successHeight = (chartHeight * week.successful) / niceMax;
        const failHeight = (chartHeight * week.failed) / niceMax;
        if (successHeight > 0) doc.rect(x, top + chartHeight - successHeight, barWidth, successHeight).fill(COLOURS.success);
        if (failHeight > 0) doc.rect(x, top + chartHeight - successHeight - failHeight, barWidth, failHeight).fill(COLOURS.failure);
        if (index % labelEvery === 0) {
          doc.fillColor(COLOURS.muted).fontSize(6);
          const label = week.week.slice(5);
          doc.text(label, x + barWidth / 2 - doc.widthOfString(label) / 2, top + chartHeight + 3, { lineBreak: false });
        }
      });
      const legendY = top + chartHeight + 14;
      doc.rect(left, legendY, 8, 6).fill(COLOURS.success);
      doc
        .fillColor(COLOURS.text)
        .fontSize(7)
        .text('successful', left + 11, legendY - 0.5, { lineBreak: false });
      doc.rect(left + 70, legendY, 8, 6).fill(COLOURS.failure);
      doc.fillColor(COLOURS.text).text('failed', left + 81, legendY - 0.5, { lineBreak: false });
      const total = weeks.reduce((sum, week) => sum + week.successful + week.failed, 0);
      doc
        .fillColor(COLOURS.muted)
        .text(`week starting (MM-DD); ${count(total)} sign-ins in total`, left + 130, legendY - 0.5, { lineBreak: false });
    }
    doc.y = top + chartHeight + 30;
  }

  const stackedBar = (title: string, parts: { label: string; value: number; colour: string }[], note: string) => {
    heading(title, 2);
    ensureSpace(50);
    const top = doc.y;
    const total = parts.reduce((sum, part) => sum + part.value, 0);
    if (!measuring) {
      let x = MARGIN.left;
      if (total === 0) doc.rect(x, top, CONTENT_WIDTH, 14).fill('#eeeeee');
      for (const part of parts) {
        const width = total === 0 ? 0 : (CONTENT_WIDTH * part.value) / total;
        if (width > 0) doc.rect(x, top, width, 14).fill(part.colour);
        x += width;
      }
      let legendX = MARGIN.left;
      doc.fontSize(7.5);
      for (const part of parts) {
        const label = pdfText(`${part.label}: ${count(part.value)}${total > 0 ? ` (${((100 * part.value) / total).toFixed(1)}%)` : ''}`);
        doc.rect(legendX, top + 20, 8, 6).fill(part.colour);
        doc.fillColor(COLOURS.text).text(label, legendX + 11, top + 19.5, { lineBreak: false });
        legendX += doc.widthOfString(label) + 28;
      }
      setFont('Helvetica', 9);
    }
    doc.y = top + 32;
    paragraph(note, { size: 7.5, colour: COLOURS.muted });
  };

  const mfa = model.statistics.mfaShare;
  if (mfa === null) {
    heading('Multi-factor authentication', 2);
    paragraph(
      'Not available: the collected sign-ins do not state which authentication was required (Microsoft Graph v1.0 data), so the share of multi-factor sign-ins is unknown.',
    );
  } else {
    const successful = weeks.reduce((sum, week) => sum + week.successful, 0);
    const withMfa = Math.round(successful * mfa);
    stackedBar(
      'Multi-factor authentication share',
      [
        { label: 'multi-factor', value: withMfa, colour: COLOURS.effective },
        { label: 'single-factor', value: successful - withMfa, colour: COLOURS.exceptions },
      ],
      `${(mfa * 100).toFixed(1)}% of successful sign-ins to Metabase required multi-factor authentication.`,
    );
  }
  const logins = model.statistics.loginsExplained;
  stackedBar(
    'Metabase logins explained by single sign-on',
    [
      { label: 'explained by an Entra ID sign-in', value: logins.explained, colour: COLOURS.effective },
      { label: 'unexplained', value: logins.unexplained, colour: COLOURS.exceptions },
      { label: 'not evaluable (no coverage)', value: logins.notEvaluable, colour: COLOURS.neutral },
    ],
    'A Metabase login is explained when a successful Entra ID sign-in of the same person to the Metabase application falls shortly before or after it (rule sso-bypass). Logins at times without sign-in coverage are not evaluable.',
  );

  // ---------------------------------------------------------------- controls
  const findingsById = new Map<string, Finding>(model.findings.map((finding) => [finding.id, finding]));
  const rulesById = new Map(model.rules.map((rule) => [rule.id, rule]));
  newPage();
  startSection('controls');
  heading('Controls', 0);
  paragraph(
    'Each control below states what was tested, over which population, the result, and the exceptions with the evidence records that support them. Evidence ids are the upstream ids of the stored records (Entra ID sign-in or audit ids, Metabase row ids); the full list per finding is in the report JSON and in findings.csv.',
  );
  paragraph(
    'Status meanings: EFFECTIVE, every rule behind the control was evaluated over full coverage and found nothing; EXCEPTIONS, at least one finding; INCOMPLETE, evaluated but part of the period lacks coverage for a source the control relies on; NOT EVALUABLE, a rule lacked the data it needs. Missing data is never reported as effective.',
    { size: 8.5, colour: COLOURS.muted },
  );
  for (const control of model.controls) {
    newPage();
    startSection(`control:${control.id}`);
    heading(`${control.id} ${control.title}`, 0);
    if (control.formerIds.length > 0)
      paragraph(`Replaces ISO/IEC 27001:2013 ${control.formerIds.join(', ')}.`, { size: 8.5, colour: COLOURS.muted });
    ensureSpace(20);
    {
      const y = doc.y;
      setFont('Helvetica-Bold', 9);
      doc.text('Result', MARGIN.left, y + 1, { lineBreak: false });
      if (!measuring) statusBadge(control.status, MARGIN.left + 120, y);
      doc.y = y + 16;
    }
    labelValue([
      ['Findings', count(control.findingIds.length)],
      ['Rules applied', control.rules.join(', ')],
      ['Period', `${when(model.period.from)} to ${when(model.period.to)}`],
    ]);
    heading('What was tested', 2);
    paragraph(control.tested);
    heading('Population', 2);
    paragraph(control.population);
    heading('Result', 2);
    paragraph(`${STATUS_TEXT[control.status]}. ${STATUS_MEANING[control.status]}`);
    for (const reason of control.reasons) bullet(reason);
    heading('Rules behind this control', 2);
    table(
      [
        { header: 'Rule', width: 125 },
        { header: 'Severity', width: 50 },
        { header: 'Status', width: 70 },
        { header: 'Findings', width: 45, align: 'right' },
        { header: 'Not judged', width: 50, align: 'right' },
        { header: 'Reason / parameters', width: CONTENT_WIDTH - 340 },
      ],
      control.rules.map((ruleId) => {
        const rule = rulesById.get(ruleId);
        if (!rule) return [ruleId, '-', 'not run', '-', '-', 'The rule was not evaluated for this period.'];
        const parameters = Object.entries(rule.parameters)
          .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
          .join(', ');
        return [
          rule.id,
          rule.severity,
          rule.status,
          count(rule.findingCount),
          count(rule.notEvaluableCount),
          rule.reason ?? (parameters || 'no parameters'),
        ];
      }),
      { maxLines: 4 },
    );
    heading(`Exceptions (${count(control.findingIds.length)})`, 2);
    table(
      [
        { header: 'Finding', width: 90 },
        { header: 'Subject', width: 130 },
        { header: 'What was found', width: 110 },
        { header: 'Evidence (source, record ids)', width: CONTENT_WIDTH - 330, font: 'Courier' },
      ],
      (function* () {
        for (const id of control.findingIds) {
          const finding = findingsById.get(id);
          if (!finding) {
            yield [id, '-', 'finding missing from the report', '-'];
            continue;
          }
          const subject = [subjectLabel(finding)];
          if (finding.subject.metabaseAccountId && subject[0] !== finding.subject.metabaseAccountId)
            subject.push(`account ${finding.subject.metabaseAccountId}`);
          // Grouped by source so each id gets a line of its own and stays whole.
          const shown: string[] = [];
          const bySource = new Map<string, string[]>();
          for (const ref of finding.evidence) bySource.set(ref.source, [...(bySource.get(ref.source) ?? []), ref.id]);
          let listed = 0;
          for (const [source, ids] of bySource) {
            if (listed >= 5) break;
            shown.push(`${source} (${ids.length}):`);
            for (const evidenceId of ids.slice(0, 5 - listed)) shown.push(evidenceId);
            listed += Math.min(ids.length, 5 - listed);
          }
          if (finding.evidence.length > listed) shown.push(`and ${finding.evidence.length - listed} more (report JSON, findings.csv)`);
          if (shown.length === 0) shown.push('(no event records: see the finding detail in the JSON)');
          yield [
            [`${finding.rule}`, `${finding.severity} · ${finding.id}`],
            subject,
            [finding.summary, finding.firstSeen ? `${day(finding.firstSeen)} to ${day(finding.lastSeen)}` : ''],
            shown,
          ];
        }
      })(),
      { maxLines: 9, empty: 'No exceptions.' },
    );
  }

  // ---------------------------------------------------------------- appendix A
  const p = model.populations;
  newPage();
  startSection('appendix-a');
  heading('Appendix A. Populations', 0);
  paragraph(
    'Complete, system-generated populations from which an auditor can sample. Each population is also delivered as a CSV file beside this report; Appendix A.7 reconciles the counts with what each source returned.',
  );
  startSection('pop:human');
  heading(`A.1 Human Metabase accounts (${count(p.humanAccounts.length)})`, 1);
  paragraph(
    'Every human Metabase account active at any time in the period, with its link to an Entra ID person, the link method, administrator rights, and activity. Dates are UTC.',
    { size: 8 },
  );
  table(
    [
      { header: 'Account', width: 62 },
      { header: 'E-mail', width: 125 },
      { header: 'Active', width: 30 },
      { header: 'Link', width: 80 },
      { header: 'Admin', width: 30 },
      { header: 'Joined', width: 47 },
      { header: 'First used', width: 47 },
      { header: 'Last used', width: 47 },
      { header: 'Sign-in', width: CONTENT_WIDTH - 468 },
    ],
    (function* () {
      for (const r of p.humanAccounts) {
        yield [
          `${r.accountId}`,
          r.email ?? '-',
          r.active ? 'yes' : 'no',
          r.linkMethod ? `${r.linkStatus} (${r.linkMethod})` : r.linkStatus,
          r.privileged ? 'yes' : 'no',
          day(r.dateJoined),
          day(r.firstActivity),
          day(r.lastActivity),
          day(r.lastSignIn),
        ];
      }
    })(),
    { lines: 1, size: 7 },
  );
  startSection('pop:terminated');
  heading(`A.2 People terminated in the period (${count(p.terminatedPeople.length)})`, 1);
  table(
    [
      { header: 'Person (UPN)', width: 140 },
      { header: 'Terminated at', width: 75 },
      { header: 'Evidence of termination', width: 100 },
      { header: 'Account at as-of', width: 60 },
      { header: 'Account', width: 45 },
      { header: 'Last activity', width: 50 },
      { header: 'Lag (h)', width: CONTENT_WIDTH - 470, align: 'right' },
    ],
    (function* () {
      for (const r of p.terminatedPeople) {
        yield [
          r.upn ?? r.personId,
          `${r.terminatedAt.slice(0, 16).replace('T', ' ')}${r.approximate ? ' ~' : ''}`,
          r.reason,
          r.accountState,
          r.metabaseAccountId ?? '-',
          day(r.lastActivity),
          r.removalLagHours === null ? '-' : String(r.removalLagHours),
        ];
      }
    })(),
    { lines: 1, size: 7, empty: 'Nobody was terminated in the period.' },
  );
  paragraph('~ marks a termination instant approximated from the first directory snapshot that saw the account disabled.', {
    size: 7,
    colour: COLOURS.muted,
  });
  startSection('pop:privileged');
  heading(`A.3 Privileged accounts at as-of (${count(p.privileged.length)})`, 1);
  table(
    [
      { header: 'Account', width: 55 },
      { header: 'E-mail', width: 150 },
      { header: 'Person id', width: 150 },
      { header: 'Superuser', width: 45 },
      { header: 'Admin group', width: 50 },
      { header: 'Justified', width: CONTENT_WIDTH - 450 },
    ],
    (function* () {
      for (const r of p.privileged)
        yield [
          r.accountId,
          r.email ?? '-',
          r.personId ?? 'unlinked',
          r.viaSuperuser ? 'yes' : 'no',
          r.viaAdminGroup ? 'yes' : 'no',
          r.justified === null ? 'not evaluable' : r.justified ? 'yes' : 'NO',
        ];
    })(),
    { lines: 1, size: 7, empty: 'No privileged accounts.' },
  );
  startSection('pop:changes');
  heading(`A.4 Privilege changes in the period (${count(p.privilegeChanges.length)})`, 1);
  table(
    [
      { header: 'At', width: 85 },
      { header: 'Account', width: 55 },
      { header: 'E-mail', width: 160 },
      { header: 'Change', width: 50 },
      { header: 'Evidence', width: CONTENT_WIDTH - 350 },
    ],
    (function* () {
      for (const r of p.privilegeChanges) yield [when(r.at), r.accountId, r.email ?? '-', r.change, r.evidence];
    })(),
    { lines: 1, size: 7, empty: 'No privilege changes in the period.' },
  );
  startSection('pop:nonhuman');
  heading(`A.5 Non-human accounts (${count(p.nonHuman.length)})`, 1);
  table(
    [
      { header: 'Account', width: 60 },
      { header: 'E-mail', width: 190 },
      { header: 'Kind', width: 50 },
      { header: 'Owner', width: 150 },
      { header: 'Last use', width: CONTENT_WIDTH - 450 },
    ],
    (function* () {
      for (const r of p.nonHuman) yield [r.accountId, r.email ?? '-', r.kind, r.owner ?? 'unknown', day(r.lastUse)];
    })(),
    { lines: 1, size: 7, empty: 'No non-human accounts.' },
  );
  startSection('pop:credentials');
  heading(`A.6 Credentials of watched applications (${count(p.credentials.length)})`, 1);
  table(
    [
      { header: 'Credential id', width: 125 },
      { header: 'Application id', width: 125 },
      { header: 'Owner', width: 60 },
      { header: 'Type', width: 45 },
      { header: 'Name', width: 70 },
      { header: 'Start', width: 43 },
      { header: 'End', width: CONTENT_WIDTH - 468 },
    ],
    (function* () {
      for (const r of p.credentials)
        yield [r.credentialId, r.appId ?? '-', r.ownerKind ?? '-', r.type ?? '-', r.displayName ?? '-', day(r.start), day(r.end)];
    })(),
    { lines: 1, size: 7, empty: 'No credentials.' },
  );
  startSection('pop:reconciliation');
  heading('A.7 Reconciliation with the sources', 1);
  table(
    [
      { header: 'Population', width: 95 },
      { header: 'Listed', width: 50, align: 'right' },
      { header: 'Source count', width: 60, align: 'right' },
      { header: 'Definition', width: CONTENT_WIDTH - 205 },
    ],
    p.reconciliation.map((r) => [r.population, count(r.count), count(r.sourceCount), r.definition]),
    { maxLines: 4 },
  );

  // ---------------------------------------------------------------- appendix B
  newPage();
  startSection('appendix-b');
  heading('Appendix B. Coverage and gaps per source', 0);
  paragraph(
    'Coverage is the set of time ranges for which a source was collected completely. Rules treat instants outside coverage as not evaluable, never as "nothing happened".',
  );
  for (const source of model.sources) {
    heading(`${source.kind} (${source.sourceId})`, 1);
    labelValue([
      ['Records', count(source.records)],
      ['First record', when(source.firstRecordAt)],
      ['Last record', when(source.lastRecordAt)],
      ['Gaps in the period', source.gaps.length === 0 ? 'none' : `${source.gaps.length}`],
    ]);
    for (const note of source.notes) bullet(note);
    table(
      [
        { header: 'Covered from', width: 150 },
        { header: 'to', width: 150 },
        { header: '', width: CONTENT_WIDTH - 300 },
      ],
      source.coverage.map((range) => [when(range.from), when(range.to), 'collected completely']),
      { lines: 1, size: 7.5, empty: 'No coverage recorded: nothing from this source can be relied on.' },
    );
    if (source.gaps.length > 0) {
      table(
        [
          { header: 'Gap from', width: 150 },
          { header: 'to', width: 150 },
          { header: 'Hours', width: 60, align: 'right' },
          { header: '', width: CONTENT_WIDTH - 360 },
        ],
        source.gaps.map((range) => [
          when(range.from),
          when(range.to),
          ((Date.parse(range.to) - Date.parse(range.from)) / 3_600_000).toFixed(1),
          'not collected',
        ]),
        { lines: 1, size: 7.5 },
      );
    }
  }

  // ---------------------------------------------------------------- appendix C
  newPage();
  startSection('appendix-c');
  heading('Appendix C. Rules and parameters', 0);
  paragraph(
    'The parameters each rule was evaluated with. Defaults come from the rule catalogue (reports/catalogues/rules.json) and can be changed there or with ACCESSTRAIL_RULE_<RULE>_<PARAM>; a change of parameters changes the report content hash.',
  );
  table(
    [
      { header: 'Rule', width: 125 },
      { header: 'Severity', width: 50 },
      { header: 'Status', width: 70 },
      { header: 'Parameters', width: 150 },
      { header: 'Reason if not evaluable', width: CONTENT_WIDTH - 395 },
    ],
    model.rules.map((rule) => [
      [rule.id, rule.title],
      rule.severity,
      rule.status,
      Object.keys(rule.parameters).length === 0
        ? ['none']
        : Object.entries(rule.parameters).map(([name, value]) => `${name} = ${JSON.stringify(value)}`),
      rule.reason ?? '-',
    ]),
    { maxLines: 6 },
  );

  // ---------------------------------------------------------------- appendix D
  newPage();
  startSection('appendix-d');
  heading('Appendix D. Methodology', 0);
  for (const line of model.methodology) bullet(line);
  heading('Period, as-of and generation', 2);
  paragraph(
    `The period runs from ${when(model.period.from)} (included) to ${when(model.period.to)} (excluded). Rules about events look only at events inside the period; rules about state (accounts, memberships, credentials) look at the state as of ${when(model.asOf)}${model.stateObservedAt ? `, observed at ${when(model.stateObservedAt)} (a Metabase account deactivated after as-of counts as active at as-of)` : ''}. The report was generated at ${when(model.generatedAt)}${model.provisional ? '; the period had not ended, so the report is provisional' : ''}.`,
  );
  heading('Control status', 2);
  for (const status of ['effective', 'exceptions', 'incomplete', 'not-evaluable'] as const)
    bullet(`${STATUS_TEXT[status]}: ${STATUS_MEANING[status]}`);

  // ---------------------------------------------------------------- appendix E
  newPage();
  startSection('appendix-e');
  heading('Appendix E. How to verify this report', 0);
  paragraph(
    'The report JSON is the authoritative document; this PDF, the CSV files and the OSCAL file are renderings of it. The JSON is canonical (keys sorted, no insignificant whitespace); its content hash is the SHA-256 of the canonical JSON without the "integrity" and "generatedAt" members (so the same evidence and parameters give the same hash whenever the report is regenerated), and the Ed25519 signature covers the text "<content hash in lower-case hexadecimal>|<generatedAt>".',
  );
  labelValue([
    ['Report JSON', `${reportBaseName(model)}.json`],
    ['Manifest', `${reportBaseName(model)}.manifest.json (SHA-256 of every file, signed, bound to the content hash)`],
    ['Content SHA-256', integrity.contentSha256],
    ['Signing key id', `${integrity.signature.keyId} (first 16 hex digits of the SHA-256 of the public key, DER)`],
  ]);
  heading('With accesstrail', 2);
  paragraph("Put the publisher's public key (report-signing.pub.pem) in <data folder>/keys/trusted/, then run:", { size: 9 });
  paragraph(`accesstrail verify ${reportBaseName(model)}.json ${reportBaseName(model)}.pdf`, { font: 'Courier', size: 8 });
  paragraph(
    'Each file is reported "intact", or with the reason it is not: content hash mismatch (the content was changed), bad signature, unknown key (signed by a key you do not trust), or a file hash that does not match the manifest. The exit status is 0 only when every file is intact.',
  );
  heading('With standard tools', 2);
  paragraph(
    'Remove the "integrity" member from the JSON, serialise it canonically (RFC 8785 gives the same bytes for this document) and hash it with SHA-256; the hash must equal the one above. Then check the signature over the hash text:',
    { size: 9 },
  );
  paragraph(`printf %s ${integrity.contentSha256} > hash.txt`, { font: 'Courier', size: 7.5 });
  paragraph('echo "<signature value from the JSON>" | base64 -d > signature.bin', { font: 'Courier', size: 7.5 });
  paragraph('openssl pkeyutl -verify -pubin -inkey report-signing.pub.pem -rawin -in hash.txt -sigfile signature.bin', {
    font: 'Courier',
    size: 7.5,
  });
  paragraph("The footer of every page of this PDF carries the same content hash; the manifest binds this file's own SHA-256 to it.", {
    size: 9,
  });

  doc.end();
  return done.then(() => ({ pages, totalPages: pageNumber }));
}
