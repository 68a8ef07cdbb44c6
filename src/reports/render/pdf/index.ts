// The PDF an auditor reads: cover, contents, executive summary with charts, one
// section per control, appendices with the complete populations. Drawn with pdfkit's
// standard fonts and vector primitives only.
//
// Where each part lives: this file is the two-pass driver; style.ts (geometry, colours,
// status words), text.ts (WinAnsi text, date and count formats), sections.ts (the one
// table of section titles behind the contents, the outline and the headings), pen.ts
// (drawing state and text primitives), furniture.ts (header and footer), table.ts,
// charts.ts, and sections/ (one file per part of the document, in reading order below).
//
// Page numbers in the contents need the layout before the document is written, and a
// streamed document cannot go back to a page it has flushed. So the renderer runs
// twice over the same layout code: a measuring pass into a sink that discards bytes,
// which records the page each section starts on and the total page count, then the
// real pass, which writes contents and "page N of M" from those figures. Both passes
// page-break at the same places because every decision depends only on the model and
// on font metrics. In the measuring pass, fixed-height table rows (the large
// population appendices) are counted, not read or drawn, so it costs a fraction of the
// real pass. Neither pass buffers pages (bufferPages off), and both wait at every page
// break of a table until the output has taken the finished pages (Pen.drain): without
// that the whole document would sit in pdfkit's stream buffer until the last page was
// drawn. A population kept on disk (RowSpool) is read a page at a time, so memory stays
// flat however many accounts the appendices list (docs/scale.md, Reports/PDF).
import { Writable } from 'node:stream';

import PDFDocument from 'pdfkit';

import { canonicalReportJson } from '../../canonical-json.js';
import type { ReportModel } from '../../model.js';
import { periodLabel } from '../naming.js';
import { createPen, type Doc, type Pen, type Plan } from './pen.js';
import { drawContents } from './sections/contents.js';
import { drawControls } from './sections/controls.js';
import { drawCover } from './sections/cover.js';
import { drawCoverage } from './sections/coverage.js';
import { drawMethodology } from './sections/methodology.js';
import { drawPopulations } from './sections/populations.js';
import { drawRules } from './sections/rules.js';
import { drawSummary } from './sections/summary.js';
import { drawVerification } from './sections/verification.js';
import { MARGIN } from './style.js';
import { pdfText, useNestedKerning } from './text.js';

export { pdfText } from './text.js';

/** The parts of the document in reading order; each opens its own page(s). Those with tables are async (Pen.drain). */
const PARTS: readonly ((pen: Pen) => void | Promise<void>)[] = [
  drawCover,
  drawContents,
  drawSummary,
  drawControls,
  drawPopulations,
  drawCoverage,
  drawRules,
  drawMethodology,
  drawVerification,
];

/**
 * Renders the signed model as a PDF into `out` (a file stream, an HTTP response).
 * Resolves with the page count once `out` has received the whole document.
 */
export async function renderPdf(signed: ReportModel, out: Writable): Promise<{ pages: number }> {
  if (!signed.integrity) throw new TypeError('PDF rendering needs a signed model (integrity missing)');
  const model = canonicalForRendering(signed);
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

/**
 * The model in canonical form, so the bytes depend on the model's content only: the
 * model read back from the store (jsonb reorders keys) gives the same PDF, and so the
 * same manifest hash, as the one built in memory. Only the small parts are copied: the
 * populations and the findings, which grow with the organisation, are read by named
 * fields and arrays only (never by iterating an object's keys), so key order cannot
 * reach the page, and a canonical copy of them would cost several times their size
 * (at 100,000 accounts, hundreds of MB of intermediate strings).
 */
function canonicalForRendering(signed: ReportModel): ReportModel {
  const { populations, findings, ...rest } = signed;
  const small = JSON.parse(canonicalReportJson(rest)) as Omit<ReportModel, 'populations' | 'findings'>;
  return { ...small, populations, findings };
}

async function renderPass(model: ReportModel, out: Writable, plan: Plan | null): Promise<Plan> {
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
    out.on('close', () => reject(new Error('the PDF output closed before the document was complete')));
    doc.on('error', reject);
  });
  // Awaited once the document is drawn; until then a failure must not count as unhandled.
  done.catch(() => undefined);
  useNestedKerning(doc);
  doc.pipe(out);

  const pen = createPen(doc, out, model, plan);
  for (const draw of PARTS) {
    await draw(pen);
    await pen.drain();
  }

  doc.end();
  await done;
  return { pages: pen.pages, totalPages: pen.pageNumber() };
}
