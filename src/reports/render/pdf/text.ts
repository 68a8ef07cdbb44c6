// Text as the PDF prints it: characters the standard fonts can encode, and the
// formats of instants, days and counts used throughout the report.
// Standard PDF fonts encode WinAnsi only; anything else would print as garbage.
const REPLACEMENTS: Record<string, string> = { '→': '->', '←': '<-', '≥': '>=', '≤': '<=', '✓': 'yes', '✗': 'no' };
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
// Most text (ids, e-mails, dates) is already printable WinAnsi: returned as it is.
const PRINTABLE = /^[\x20-\x7e\xa0-\xff]*$/;
export function pdfText(value: string): string {
  if (PRINTABLE.test(value)) return value;
  let out = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code === 9 || code === 10) out += ' ';
    else if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(char)) out += char;
    else out += REPLACEMENTS[char] ?? '?';
  }
  return out;
}

export function when(value: string | null | undefined): string {
  if (!value) return '-';
  return value.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') + ' UTC';
}
export function day(value: string | null | undefined): string {
  return value ? value.slice(0, 10) : '-';
}
export function count(value: number): string {
  return value.toLocaleString('en-GB');
}

/** A rule's parameters as `name<separator>value` texts, values as JSON. */
export function parameterLines(parameters: Record<string, unknown>, separator: string): string[] {
  return Object.entries(parameters).map(([name, value]) => `${name}${separator}${JSON.stringify(value)}`);
}

/** Width cache of textWidth, by font, size and text; emptied when it grows past this many. */
const WIDTHS_KEPT = 100_000;
const widths = new Map<string, number>();

/**
 * doc.widthOfString, remembered. pdfkit measures a standard font's text glyph by glyph
 * with a kerning lookup per pair, and the layout measures the same texts again and again
 * (every word-wrap candidate, every cell in both the measuring and the real pass): it was
 * a fifth of the whole `report` command at 20,000 accounts (docs/scale.md, "Reports").
 * The width depends only on the font, its size and the text (no features, spacing or
 * scaling are set anywhere in the renderer).
 */
export function textWidth(doc: PDFKit.PDFDocument, text: string): number {
  const current = doc as unknown as { _font: { name: string }; _fontSize: number };
  const key = `${current._font.name}\u0000${current._fontSize}\u0000${text}`;
  let width = widths.get(key);
  if (width === undefined) {
    width = doc.widthOfString(text);
    if (widths.size >= WIDTHS_KEPT) widths.clear();
    widths.set(key, width);
  }
  return width;
}
