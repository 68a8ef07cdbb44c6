// Page geometry, colours and the words for a control's status: the PDF's look in one place.
// The console's charts and styles (src/console/) use the same colours.
import type { ControlSection } from '../../model.js';

export type FontName = 'Helvetica' | 'Helvetica-Bold' | 'Helvetica-Oblique' | 'Courier';

export const PAGE = { width: 595.28, height: 841.89 };
export const MARGIN = { top: 58, bottom: 58, left: 42, right: 42 };
export const CONTENT_WIDTH = PAGE.width - MARGIN.left - MARGIN.right;
export const BOTTOM = PAGE.height - MARGIN.bottom;

export const COLOURS = {
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

export const STATUS_TEXT: Record<ControlSection['status'], string> = {
  effective: 'EFFECTIVE',
  exceptions: 'EXCEPTIONS',
  incomplete: 'INCOMPLETE',
  'not-evaluable': 'NOT EVALUABLE',
};

export const STATUS_MEANING: Record<ControlSection['status'], string> = {
  effective: 'Every rule behind the control was evaluated over full coverage of its sources and found no exception.',
  exceptions: 'At least one exception was found; each is listed below with the evidence records that support it.',
  incomplete:
    'The rules were evaluated, but part of the period lacks coverage for a source the control relies on, so the absence of exceptions is not proven for that part. The gaps are listed below.',
  'not-evaluable':
    'A rule behind the control lacked the data it needs (licence, edition or configuration). Missing data is never reported as effective; the reason is stated below.',
};

const STATUS_BY_TEXT = new Map<string, string>(
  Object.entries(STATUS_TEXT).map(([status, text]) => [text, COLOURS[status as ControlSection['status']]]),
);
/** Colour of a table cell holding a status word (EFFECTIVE, not-evaluable...). */
export const statusColour = (text: string) => STATUS_BY_TEXT.get(text) ?? (text === 'not-evaluable' ? COLOURS['not-evaluable'] : undefined);
