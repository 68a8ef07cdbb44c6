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

/** The AFM metrics object behind a pdfkit standard font (pdfkit's AFMFont), as far as
 *  kerning goes. */
interface AfmKerning {
  kernPairs?: Record<string, number>;
  getKernPair?: (left: string, right: string | undefined) => number;
}

const nestedKerning = new WeakSet<object>();

/**
 * pdfkit looks up a standard font's kerning by a key made of both glyph names
 * (`kernPairs[left + '\0' + right]`, AFMFont.getKernPair), for every pair of characters
 * it draws or measures: a new string built and hashed per pair. At 20,000 accounts that
 * was 3.8 s of the `report` command's CPU (its PDF took 9–11 s). This gives every
 * standard font the document opens the same table as two nested maps of pdfkit's own
 * glyph names: the same numbers (0 for a pair not in the table, as before), without a
 * string per pair. The PDF's bytes are unchanged (test/unit/report-pdf-bytes.test.ts).
 */
export function useNestedKerning(doc: PDFKit.PDFDocument): void {
  const open = doc.font.bind(doc) as (...args: unknown[]) => PDFKit.PDFDocument;
  (doc as unknown as { font: (...args: unknown[]) => PDFKit.PDFDocument }).font = (...args: unknown[]) => {
    const result = open(...args);
    const afm = (doc as unknown as { _font?: { font?: AfmKerning } })._font?.font;
    if (afm && afm.kernPairs && typeof afm.getKernPair === 'function' && !nestedKerning.has(afm)) {
      const pairs = new Map<string, Map<string, number>>();
      for (const [key, value] of Object.entries(afm.kernPairs)) {
        const [left, right] = key.split('\0') as [string, string];
        let row = pairs.get(left);
        if (!row) pairs.set(left, (row = new Map()));
        row.set(right, value || 0);
      }
      afm.getKernPair = (left, right) => (right === undefined ? 0 : (pairs.get(left)?.get(right) ?? 0));
      nestedKerning.add(afm);
    }
    return result;
  };
}

/** Widths kept by textWidth, per font and size (the outer key), by text; all forgotten
 *  once they number this many. What repeats is characters, pairs and common words (a
 *  large report's cells are mostly unique), so a small table keeps the hits: 20,000
 *  against 100,000 gave the 100,000-account render 194–206 MB peak against 212–218, and
 *  no loss of speed (two runs each, docs/scale.md, "Reports/PDF"). */
const WIDTHS_KEPT = 20_000;
const widthsByFont = new Map<string, Map<string, number>>();
let widthsKept = 0;

type CurrentFont = { _font: { name: string }; _fontSize: number };

function widthsOfCurrentFont(doc: PDFKit.PDFDocument): Map<string, number> {
  const current = doc as unknown as CurrentFont;
  const key = `${current._font.name}\u0000${current._fontSize}`;
  let widths = widthsByFont.get(key);
  if (!widths) {
    widths = new Map();
    widthsByFont.set(key, widths);
  }
  return widths;
}

function remembered(doc: PDFKit.PDFDocument, widths: Map<string, number>, text: string): number {
  let width = widths.get(text);
  if (width === undefined) {
    width = doc.widthOfString(text);
    if (widthsKept >= WIDTHS_KEPT) {
      for (const kept of widthsByFont.values()) kept.clear();
      widthsKept = 0;
    }
    widths.set(text, width);
    widthsKept += 1;
  }
  return width;
}

/**
 * doc.widthOfString, remembered. pdfkit measures a standard font's text glyph by glyph
 * with a kerning lookup per pair, and the layout measures the same texts again and again
 * (every cell in both the measuring and the real pass): it was a fifth of the whole
 * `report` command at 20,000 accounts (docs/scale.md, "Reports"). The width depends only
 * on the font, its size and the text (no features, spacing or scaling are set anywhere
 * in the renderer).
 */
export function textWidth(doc: PDFKit.PDFDocument, text: string): number {
  return remembered(doc, widthsOfCurrentFont(doc), text);
}

/**
 * Widths of texts made of parts, in the document's current font, without measuring the
 * whole again. pdfkit's width of a standard-font text is the sum, in whole font units
 * (the AFM metrics: 1/1000 of the size), of each glyph's advance and of the kerning of
 * each adjacent pair, times size/1000. So a text's units are those of its parts plus the
 * kerning where they meet, and `width` turns units into exactly the number
 * doc.widthOfString gives (the same operations in the same order). Word wrapping grows
 * a line word by word, and cuts an over-long token character by character: measured
 * whole each time, the long cells of the findings tables (ids, summaries, evidence) were
 * measured over and over.
 */
export interface TextMeasure {
  units(text: string): number;
  /** Units of `left + right`, given the units of each (only the last character of
   *  `left` and the first of `right` are read: the pair that may kern). */
  joined(left: string, leftUnits: number, right: string, rightUnits: number): number;
  /** Units of every prefix of `text`: [0] for '', [text.length] for the whole. */
  prefixes(text: string): number[];
  /** The width doc.widthOfString gives a text of `length` characters and these units. */
  width(units: number, length: number): number;
}

export function textMeasure(doc: PDFKit.PDFDocument): TextMeasure {
  const widths = widthsOfCurrentFont(doc);
  const size = (doc as unknown as CurrentFont)._fontSize;
  const scale = size / 1000;
  const units = (text: string) => (text === '' ? 0 : Math.round(remembered(doc, widths, text) / scale));
  const kerning = (left: string | undefined, right: string | undefined) =>
    left === undefined || right === undefined ? 0 : units(left + right) - units(left) - units(right);
  return {
    units,
    joined: (left, leftUnits, right, rightUnits) => leftUnits + rightUnits + kerning(left.at(-1), right[0]),
    prefixes(text) {
      const out = [0];
      for (let index = 0; index < text.length; index += 1) {
        out.push(out[index]! + units(text[index]!) + kerning(text[index - 1], text[index]));
      }
      return out;
    },
    // pdfkit: (font width × size/1000 + characterSpacing × (length − 1)) × horizontalScaling / 100.
    width: (textUnits, length) => ((textUnits * scale + 0 * (length - 1)) * 100) / 100,
  };
}
