// The cover: title, period, as-of, generation, counts, and the integrity block (content hash, key id, report file).
import { periodLabel, reportBaseName } from '../../naming.js';
import type { Pen } from '../pen.js';
import { COLOURS, CONTENT_WIDTH, MARGIN } from '../style.js';
import { count, pdfText, when } from '../text.js';

export function drawCover(pen: Pen): void {
  const { doc, setFont, newPage, paragraph, labelValue, model } = pen;
  const integrity = model.integrity!;
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
}
