// Charts of the executive summary, in vector primitives only: sign-ins per week as
// stacked bars, and a single stacked bar with its legend for shares. In the measuring
// pass only the space they take is counted.
import type { ReportModel } from '../../model.js';
import type { Pen } from './pen.js';
import { COLOURS, CONTENT_WIDTH, MARGIN } from './style.js';
import { count, pdfText, textWidth } from './text.js';

export function weeklySignInsChart(pen: Pen, weeks: ReportModel['statistics']['signInsPerWeek']): void {
  const { doc, measuring, setFont, ensureSpace, heading } = pen;
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
      doc.text(label, left - 4 - textWidth(doc, label), y - 3, { lineBreak: false });
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
        doc.text(label, x + barWidth / 2 - textWidth(doc, label) / 2, top + chartHeight + 3, { lineBreak: false });
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

export interface BarPart {
  label: string;
  value: number;
  colour: string;
}

export function stackedBar(pen: Pen, title: string, parts: BarPart[], note: string): void {
  const { doc, measuring, setFont, ensureSpace, heading, paragraph } = pen;
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
      legendX += textWidth(doc, label) + 28;
    }
    setFont('Helvetica', 9);
  }
  doc.y = top + 32;
  paragraph(note, { size: 7.5, colour: COLOURS.muted });
}
