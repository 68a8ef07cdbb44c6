// Canonical JSON: the byte form that the content hash and the signature cover.
// Object keys sorted by UTF-16 code units (as JSON.stringify would order them after a
// sort, and as RFC 8785 does), no insignificant whitespace, numbers in ECMAScript's
// shortest round-trip form (deterministic across Node versions), strings escaped as
// JSON.stringify does. Undefined object members are left out, as JSON.stringify does,
// so an optional field that is absent and one that is undefined hash the same.
// Non-finite numbers, undefined array items, functions and other non-JSON values are
// rejected instead of being silently turned into null.
//
// A report of 100,000 accounts is ~50 MB of canonical JSON, so the writer hands it to a
// sink in pieces (a hash, a file) instead of building one string: `writeCanonicalJson`
// is the one serialiser, `canonicalReportJson` only joins its pieces for small values.
// Pieces end between tokens, so a string's UTF-8 bytes are never split across two.

/** Receives the canonical JSON in order, in pieces of about `CHUNK_CHARS` characters. */
export type JsonSink = (piece: string) => void;

const CHUNK_CHARS = 1 << 16;

/**
 * An object with this method is written as a JSON array whose items are the texts it
 * yields, copied as they are: they must be canonical JSON already. A population kept on
 * disk (row-spool.ts) is one, so its bytes never need to be parsed to be hashed.
 */
export const CANONICAL_ITEMS = Symbol('canonical JSON items');

interface CanonicalItems {
  [CANONICAL_ITEMS](): Iterable<string>;
}

const hasCanonicalItems = (value: object): value is CanonicalItems => CANONICAL_ITEMS in value;

export function canonicalReportJson(value: unknown): string {
  const pieces: string[] = [];
  writeCanonicalJson(value, (piece) => pieces.push(piece));
  return pieces.join('');
}

export function writeCanonicalJson(value: unknown, sink: JsonSink): void {
  const writer = new Writer(sink);
  writer.value(value);
  writer.flush();
}

class Writer {
  private buffered = '';
  /** Where the writer is, for error messages only (`$`, `.key`, `[index]`). */
  private readonly path: (string | number)[] = [];

  constructor(private readonly sink: JsonSink) {}

  flush(): void {
    if (this.buffered !== '') this.sink(this.buffered);
    this.buffered = '';
  }

  private emit(text: string): void {
    this.buffered += text;
    if (this.buffered.length >= CHUNK_CHARS) this.flush();
  }

  private at(): string {
    return `$${this.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('')}`;
  }

  value(value: unknown): void {
    if (value === null) return this.emit('null');
    switch (typeof value) {
      case 'boolean':
        return this.emit(value ? 'true' : 'false');
      case 'string':
        return this.emit(JSON.stringify(value));
      case 'number':
        if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${this.at()} is not a finite number`);
        // -0 and 0 must hash the same.
        return this.emit(Object.is(value, -0) ? '0' : JSON.stringify(value));
      case 'object':
        if (Array.isArray(value)) return this.array(value);
        if (value instanceof Date) throw new TypeError(`canonical JSON: ${this.at()} is a Date; store ISO strings in the model`);
        if (hasCanonicalItems(value)) return this.items(value[CANONICAL_ITEMS]());
        return this.object(value as Record<string, unknown>);
      default:
        throw new TypeError(`canonical JSON: ${this.at()} has type ${typeof value}, which JSON cannot hold`);
    }
  }

  private array(items: readonly unknown[]): void {
    this.emit('[');
    for (let index = 0; index < items.length; index += 1) {
      this.path.push(index);
      if (items[index] === undefined) throw new TypeError(`canonical JSON: ${this.at()} is undefined`);
      if (index > 0) this.emit(',');
      this.value(items[index]);
      this.path.pop();
    }
    this.emit(']');
  }

  private items(texts: Iterable<string>): void {
    this.emit('[');
    let first = true;
    for (const text of texts) {
      this.emit(first ? text : `,${text}`);
      first = false;
    }
    this.emit(']');
  }

  private object(record: Record<string, unknown>): void {
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    this.emit('{');
    keys.forEach((key, index) => {
      this.path.push(key);
      this.emit(`${index > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      this.value(record[key]);
      this.path.pop();
    });
    this.emit('}');
  }
}
