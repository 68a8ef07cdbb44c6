// A population kept on disk instead of in memory: rows appended once as lines of
// canonical JSON to a temporary file, read back in pages of 1 MB as many times as a
// renderer needs (the PDF reads each population twice, once per pass). At 100,000
// accounts the human accounts are ~50 MB of JavaScript objects in memory and ~40 MB
// here on disk; the process holds one page, and where each row ends (8 bytes a row) so
// that one row can be read on its own (`at`: the PDF looks findings up by id).
//
// A spool is a `Rows` of the model (model.ts): it has a length and iterates its rows in
// order, like the array it stands for. The canonical JSON writer copies its lines as
// they are (they are canonical already), so the report's JSON, its content hash and
// every rendering are the same bytes whether a population is an array or a spool.
// JSON.stringify gets the array (toJSON), for the few callers that need all of it.
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';

import { CANONICAL_ITEMS, canonicalReportJson } from './canonical-json.js';
import type { Rows } from './model.js';

const PAGE_BYTES = 1 << 16;

let spools = 0;

export class RowSpool<T> implements Rows<T> {
  private readonly fd: number;
  /** Set when the file could not be unlinked while open (not POSIX): removed at close. */
  private readonly leftover: string | null;
  private pending = '';
  private written = 0;
  /** Byte offset just after each row's line. */
  private readonly ends: number[] = [];
  private closed = false;

  /** A new, empty spool in `dir` (the system's temporary folder by default). */
  constructor(dir: string = tmpdir()) {
    spools += 1;
    const file = path.join(dir, `accesstrail-rows-${process.pid}-${spools}-${Date.now()}.jsonl`);
    this.fd = openSync(file, 'wx+', 0o600);
    // Unlinked while open, the file goes away with the descriptor, even if the process dies.
    let leftover: string | null = null;
    try {
      unlinkSync(file);
    } catch {
      leftover = file;
    }
    this.leftover = leftover;
  }

  /** A spool holding `rows`, in their order. */
  static of<T>(rows: Iterable<T>, dir?: string): RowSpool<T> {
    const spool = new RowSpool<T>(dir);
    for (const row of rows) spool.push(row);
    return spool;
  }

  get length(): number {
    return this.ends.length;
  }

  push(row: T): void {
    if (this.closed) throw new Error('row spool is closed');
    const line = `${canonicalReportJson(row)}\n`;
    this.ends.push((this.ends.at(-1) ?? 0) + Buffer.byteLength(line, 'utf8'));
    this.pending += line;
    if (this.pending.length >= PAGE_BYTES) this.flush();
  }

  /** The row at `index` (negative from the end, as Array.at), read on its own. */
  at(index: number): T | undefined {
    const position = index < 0 ? this.ends.length + index : index;
    if (position < 0 || position >= this.ends.length) return undefined;
    if (this.closed) throw new Error('row spool is closed');
    this.flush();
    const start = position === 0 ? 0 : this.ends[position - 1]!;
    const bytes = Buffer.allocUnsafe(this.ends[position]! - start - 1);
    if (readSync(this.fd, bytes, 0, bytes.length, start) !== bytes.length) throw new Error('row spool ended early');
    return JSON.parse(bytes.toString('utf8')) as T;
  }

  /** The canonical JSON of each row, in order (what the canonical writer copies). */
  *lines(): Generator<string> {
    this.flush();
    const end = this.written;
    const buffer = Buffer.allocUnsafe(PAGE_BYTES);
    const decoder = new StringDecoder('utf8');
    let position = 0;
    let rest = '';
    while (position < end) {
      if (this.closed) throw new Error('row spool is closed');
      const read = readSync(this.fd, buffer, 0, Math.min(PAGE_BYTES, end - position), position);
      if (read === 0) throw new Error('row spool ended early');
      position += read;
      const text = rest + decoder.write(buffer.subarray(0, read));
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      yield* lines;
    }
    if (rest !== '') throw new Error('row spool ends inside a row');
  }

  *[Symbol.iterator](): Generator<T> {
    for (const line of this.lines()) yield JSON.parse(line) as T;
  }

  [CANONICAL_ITEMS](): Iterable<string> {
    return this.lines();
  }

  toJSON(): T[] {
    return [...this];
  }

  /** Releases the file. Reading afterwards throws. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    if (this.leftover) unlinkSync(this.leftover);
  }

  private flush(): void {
    if (this.pending === '') return;
    const bytes = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    writeSync(this.fd, bytes, 0, bytes.length, this.written);
    this.written += bytes.length;
  }
}

/** `rows` seen through `f`, one row at a time (nothing is mapped before it is read). */
export function mapRows<T, U>(rows: Rows<T>, f: (row: T) => U): Rows<U> {
  return {
    get length() {
      return rows.length;
    },
    *[Symbol.iterator]() {
      for (const row of rows) yield f(row);
    },
    at(index) {
      const row = rows.at(index);
      return row === undefined ? undefined : f(row);
    },
  };
}
