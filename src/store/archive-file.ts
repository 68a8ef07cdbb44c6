// The archive file of one monthly partition (src/store/archive.ts writes it): gzip'd
// NDJSON, one line per row exactly as Postgres renders it (`to_jsonb(row)`: every
// column, the verbatim record, its batch id and record hash), ordered by batch id so
// that `verify --store` can walk the chain and the file together in one pass, and a
// JSON manifest beside it. Written to a `.partial` name, fsynced, read back and checked,
// then renamed and the directory fsynced: a crash at any point leaves either no file,
// a `.partial` one (ignored, rewritten by the next run), or a complete checked file.
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipelineCallback, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';

export const ARCHIVE_FORMAT = 'accesstrail-evidence-archive/1';

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  table: string;
  partition: string;
  /** The partition's bounds [from, to), ISO instants. */
  from: string;
  to: string;
  rows: number;
  /** The archive file (beside this manifest), its SHA-256 and size. */
  file: string;
  sha256: string;
  bytes: number;
  /** SHA-256 of the decompressed content (the lines joined by "\n", each line ended). */
  contentSha256: string;
  /** Rows per source id and per evidence batch. */
  sources: Record<string, number>;
  batches: { id: number; rows: number }[];
  archivedAt: string;
  /** How to check and read it, for whoever holds the file without accesstrail. */
  howToVerify: string;
}

export interface WrittenArchive {
  sha256: string;
  bytes: number;
  rows: number;
  contentSha256: string;
}

/** One page of rows (already NDJSON lines, without the newline). */
export type LinePages = AsyncIterable<readonly string[]>;

export const partialName = (file: string) => `${file}.partial`;

async function fsyncPath(target: string): Promise<void> {
  const handle = await open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes the pages to `<file>.partial`, gzip'd, and fsyncs it. */
export async function writePartialArchive(file: string, pages: LinePages): Promise<WrittenArchive> {
  await mkdir(path.dirname(file), { recursive: true });
  const target = partialName(file);
  const handle = await open(target, 'w');
  const fileHash = createHash('sha256');
  const contentHash = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  try {
    async function* text() {
      for await (const page of pages) {
        if (page.length === 0) continue;
        const chunk = `${page.join('\n')}\n`;
        rows += page.length;
        contentHash.update(chunk);
        yield chunk;
      }
    }
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        fileHash.update(chunk);
        bytes += chunk.length;
        handle.write(chunk).then(
          () => callback(),
          (error: Error) => callback(error),
        );
      },
    });
    await pipeline(Readable.from(text()), createGzip({ level: 6 }), sink);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { sha256: fileHash.digest('hex'), bytes, rows, contentSha256: contentHash.digest('hex') };
}

/** Reads an archive file back from disk: its SHA-256, size, row count and content hash. */
export async function readBackArchive(file: string): Promise<WrittenArchive> {
  const cursor = await ArchiveCursor.open(file, { parse: false });
  if (!cursor) throw new Error(`${file} cannot be read back`);
  return cursor.finish();
}

/** Moves the checked `.partial` file to its name and makes the rename durable. */
export async function publishArchive(file: string): Promise<void> {
  await rename(partialName(file), file);
  await fsyncPath(path.dirname(file));
}

/** Writes the manifest beside the archive (the same way: partial, fsync, rename, fsync
 *  the directory) and returns the SHA-256 of its bytes. */
export async function writeManifest(file: string, manifest: ArchiveManifest): Promise<string> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  const target = partialName(file);
  const handle = await open(target, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(target, file);
  await fsyncPath(path.dirname(file));
  return createHash('sha256').update(text).digest('hex');
}

export async function removePartial(file: string): Promise<void> {
  await rm(partialName(file), { force: true });
}

export const manifestNameOf = (archiveFile: string) => archiveFile.replace(/\.ndjson\.gz$/, '.manifest.json');

/** A row of an archive file: its line as written, and the columns parsed from it. */
export interface ArchivedRow {
  batchId: number;
  line: string;
  row: Record<string, unknown>;
}

/** Reads an archive file line by line, in batch order, hashing its bytes (as stored
 *  and decompressed) as they go. */
export class ArchiveCursor {
  readonly #fileHash = createHash('sha256');
  readonly #contentHash = createHash('sha256');
  #bytes = 0;
  #rows = 0;
  #head: ArchivedRow | undefined;
  #done = false;
  readonly #input: ReturnType<typeof createReadStream>;
  readonly #lines: AsyncGenerator<string>;
  readonly #parse: boolean;

  private constructor(file: string, parse: boolean) {
    this.#parse = parse;
    this.#input = createReadStream(file);
    const tap = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.#fileHash.update(chunk);
        this.#bytes += chunk.length;
        callback(null, chunk);
      },
    });
    // A failure anywhere (unreadable file, corrupt gzip) destroys the chain and the
    // reader below throws it.
    const gunzip = pipelineCallback(this.#input, tap, createGunzip(), () => undefined);
    this.#lines = this.#split(gunzip);
  }

  /** Undefined when the file does not exist. `parse: false` only counts and hashes. */
  static async open(file: string, options: { parse?: boolean } = {}): Promise<ArchiveCursor | undefined> {
    try {
      await access(file, constants.R_OK);
    } catch {
      return undefined;
    }
    return new ArchiveCursor(file, options.parse ?? true);
  }

  async *#split(stream: AsyncIterable<Buffer>): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of stream) {
      this.#contentHash.update(chunk);
      const parts = (rest + decoder.write(chunk)).split('\n');
      rest = parts.pop()!;
      for (const part of parts) yield part;
    }
    rest += decoder.end();
    if (rest !== '') yield rest;
  }

  async #advance(): Promise<void> {
    if (this.#head || this.#done) return;
    const next = await this.#lines.next();
    if (next.done) {
      this.#done = true;
      return;
    }
    this.#rows++;
    if (!this.#parse) return;
    const row = JSON.parse(next.value) as Record<string, unknown>;
    this.#head = { batchId: Number(row['batch_id']), line: next.value, row };
  }

  /** The batch id of the next row, or undefined at the end. */
  async peekBatch(): Promise<number | undefined> {
    await this.#advance();
    return this.#head?.batchId;
  }

  /** Every row at the head that belongs to `batchId`. */
  async takeBatch(batchId: number): Promise<ArchivedRow[]> {
    const rows: ArchivedRow[] = [];
    for (;;) {
      await this.#advance();
      if (!this.#head || this.#head.batchId !== batchId) return rows;
      rows.push(this.#head);
      this.#head = undefined;
    }
  }

  /** Skips the rows at the head that belong to batches before `batchId`; how many. */
  async skipBefore(batchId: number): Promise<number> {
    let skipped = 0;
    for (;;) {
      await this.#advance();
      if (!this.#head || this.#head.batchId >= batchId) return skipped;
      this.#head = undefined;
      skipped++;
    }
  }

  /** Reads to the end; the whole file's hashes and counts. */
  async finish(): Promise<WrittenArchive> {
    try {
      this.#head = undefined;
      while (!this.#done) {
        await this.#advance();
        this.#head = undefined;
      }
    } finally {
      this.close();
    }
    return { sha256: this.#fileHash.digest('hex'), bytes: this.#bytes, rows: this.#rows, contentSha256: this.#contentHash.digest('hex') };
  }

  close(): void {
    this.#input.destroy();
  }
}
