// Appendix B: coverage and gaps per source.
import type { Pen } from '../pen.js';
import { CONTENT_WIDTH } from '../style.js';
import { count, when } from '../text.js';

export async function drawCoverage(pen: Pen): Promise<void> {
  const { newPage, heading, paragraph, bullet, labelValue, table, openSection, model } = pen;
  newPage();
  openSection('appendix-b');
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
    await table(
      source.coverage,
      [
        { header: 'Covered from', width: 150, cell: (range) => when(range.from) },
        { header: 'to', width: 150, cell: (range) => when(range.to) },
        { header: '', width: CONTENT_WIDTH - 300, cell: () => 'collected completely' },
      ],
      { lines: 1, size: 7.5, empty: 'No coverage recorded: nothing from this source can be relied on.' },
    );
    if (source.gaps.length > 0) {
      await table(
        source.gaps,
        [
          { header: 'Gap from', width: 150, cell: (range) => when(range.from) },
          { header: 'to', width: 150, cell: (range) => when(range.to) },
          {
            header: 'Hours',
            width: 60,
            align: 'right',
            cell: (range) => ((Date.parse(range.to) - Date.parse(range.from)) / 3_600_000).toFixed(1),
          },
          { header: '', width: CONTENT_WIDTH - 360, cell: () => 'not collected' },
        ],
        { lines: 1, size: 7.5 },
      );
    }
  }
}
