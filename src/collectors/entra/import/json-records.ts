// Streams the records of a JSON export without holding the file: a top-level array of
// records (admin center download, Log Analytics or `az monitor log-analytics query`
// output), a Graph page ({"value": [...], "@odata.nextLink": ...}) or records one
// after another (JSON lines). A small scanner that only tracks strings and nesting
// cuts out each record's text, which is then parsed alone: memory stays at one record
// whatever the file size, and a broken record is reported with the line it starts on
// instead of losing the file. (No package: the few streaming JSON parsers on npm are
// either unmaintained or event-level SAX APIs that cost more code than this.)
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface JsonRecordText {
  /** The record's JSON text (a scalar element is passed on as its text). */
  text: string;
  /** 1-based line where the record starts. */
  line: number;
  /** 1-based position among the file's records. */
  index: number;
}

/** The file's structure is broken (not a record's content): nothing after it can be read. */
export class JsonStructureError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

type State = 'top' | 'array' | 'capture' | 'page-tail';

/** Push-style scanner; `feed` returns the records completed by a chunk. */
export class JsonRecordScanner {
  private state: State = 'top';
  private arrayIsPage = false;
  private captureIsTopObject = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: string[] = [];
  private recordLine = 1;
  private line = 1;
  private index = 0;
  /** Last string closed at the first level of a top-level object (only its first 8 chars). */
  private lastKey = '';
  private key = '';
  private keyOpen = false;
  private started = false;

  feed(chunk: string): JsonRecordText[] {
    if (!this.started) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      this.started = chunk.length > 0;
    }
    const out: JsonRecordText[] = [];
    let captureFrom = this.state === 'capture' ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (ch === 10) this.line++;
      if (this.state === 'capture' || this.state === 'page-tail') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (ch === 92) this.escaped = true;
          else if (ch === 34) {
            this.inString = false;
            if (this.keyOpen) {
              this.lastKey = this.key;
              this.keyOpen = false;
            }
          } else if (this.keyOpen && this.key.length < 8) this.key += chunk[i];
          continue;
        }
        if (ch === 34) {
          this.inString = true;
          if (this.state === 'capture' && this.captureIsTopObject && this.depth === 1) {
            this.keyOpen = true;
            this.key = '';
          }
          continue;
        }
        if (ch === 123 || ch === 91) {
          if (this.state === 'capture' && this.captureIsTopObject && this.depth === 1 && ch === 91 && this.lastKey === 'value') {
            // A Graph page: the elements of its `value` array are the records.
            this.parts = [];
            captureFrom = -1;
            this.state = 'array';
            this.arrayIsPage = true;
            continue;
          }
          this.depth++;
        } else if (ch === 125 || ch === 93) {
          this.depth--;
          if (this.depth === 0) {
            if (this.state === 'page-tail') {
              this.state = 'top';
              continue;
            }
            this.parts.push(chunk.slice(captureFrom, i + 1));
            out.push({ text: this.parts.join(''), line: this.recordLine, index: ++this.index });
            this.parts = [];
            captureFrom = -1;
            this.state = this.captureIsTopObject ? 'top' : 'array';
          }
        }
        continue;
      }
      if (ch === 32 || ch === 10 || ch === 13 || ch === 9) continue;
      if (this.state === 'top') {
        if (ch === 91) {
          this.state = 'array';
          this.arrayIsPage = false;
        } else if (ch === 123) {
          this.begin(i, true);
          captureFrom = i;
        } else throw new JsonStructureError(`unexpected ${JSON.stringify(chunk[i])} where a JSON array or object should start`, this.line);
        continue;
      }
      // Between the elements of the record array.
      if (ch === 44) continue;
      if (ch === 93) {
        if (this.arrayIsPage) {
          // The rest of the page object (other keys, its closing brace) is not records.
          this.state = 'page-tail';
          this.depth = 1;
        } else this.state = 'top';
        continue;
      }
      if (ch === 123 || ch === 91) {
        this.begin(i, false);
        captureFrom = i;
        continue;
      }
      // A scalar element: passed on so the caller can quarantine it as "not an object".
      let end = i;
      while (end < chunk.length && chunk[end] !== ',' && chunk[end] !== ']' && chunk[end] !== '\n') end++;
      out.push({ text: chunk.slice(i, end).trim(), line: this.line, index: ++this.index });
      i = end - 1;
    }
    if (this.state === 'capture' && captureFrom >= 0) this.parts.push(chunk.slice(captureFrom));
    return out;
  }

  /** Call at the end of the file: throws if it ended inside the structure. */
  end(): void {
    if (this.state === 'capture')
      throw new JsonStructureError(`the file ends inside a record that starts on line ${this.recordLine}`, this.line);
    if (this.state !== 'top') throw new JsonStructureError('the file ends before its record array is closed', this.line);
  }

  private begin(at: number, topObject: boolean): void {
    this.state = 'capture';
    this.captureIsTopObject = topObject;
    this.depth = 1;
    this.recordLine = this.line;
    this.parts = [];
    this.lastKey = '';
    void at;
  }
}

export async function* jsonRecordTexts(file: string): AsyncGenerator<JsonRecordText> {
  const decoder = new StringDecoder('utf8');
  const scanner = new JsonRecordScanner();
  for await (const buffer of createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (const record of scanner.feed(decoder.write(buffer as Buffer))) yield record;
  }
  for (const record of scanner.feed(decoder.end())) yield record;
  scanner.end();
}
