// The archived rows of the evidence batches, for the chain walk (chain.ts): an archive
// file is read once, front to back, as the walk reaches its batches (the file is in
// batch order), so memory stays flat; its SHA-256 and row count are checked against
// the manifest when its last batch has been read. A file that is not in the archive
// directory (moved to cold storage) is reported as such, with the manifest's hash:
// the batches concerned are accounted for by the manifest's counts, and not checked.
import path from 'node:path';

import type { Kysely } from 'kysely';

import { ArchiveCursor } from './archive-file.js';
import type { Database } from './schema.js';

interface Archive {
  id: number;
  table: string;
  month: string;
  fileName: string;
  sha256: string;
  rows: number;
  lastBatch: number;
}

export interface ArchiveProblem {
  batchId: number;
  table: string;
  reason: string;
}

export interface ArchiveCheckSummary {
  /** Archives whose rows are out of the store. */
  archives: number;
  /** Of them, files read and checked against their manifest. */
  filesChecked: number;
  /** Rows read back from archive files. */
  rows: number;
  /** Files not found in the archive directory: not checked. */
  unavailable: { file: string; sha256: string; rows: number }[];
  /** Batches whose content hash could not be recomputed (part of them is in an unavailable file). */
  unverifiedBatches: number;
}

export class ArchivedBatches {
  readonly #dir: string | undefined;
  readonly #archives: Map<number, Archive>;
  readonly #byBatch: Map<number, { archiveId: number; rows: number }[]>;
  readonly #cursors = new Map<number, ArchiveCursor | null>();
  readonly #unavailable = new Set<number>();
  #filesChecked = 0;
  #rows = 0;
  unverifiedBatches = 0;

  private constructor(
    dir: string | undefined,
    archives: Map<number, Archive>,
    byBatch: Map<number, { archiveId: number; rows: number }[]>,
  ) {
    this.#dir = dir;
    this.#archives = archives;
    this.#byBatch = byBatch;
  }

  static async load(db: Kysely<Database>, archiveDir: string | undefined): Promise<ArchivedBatches> {
    const archives = new Map<number, Archive>();
    const rows = await db
      .selectFrom('evidence_archive')
      .select(['id', 'table_name', 'month_from', 'file_name', 'file_sha256', 'row_count'])
      .where('restored_at', 'is', null)
      .execute();
    for (const row of rows)
      archives.set(Number(row.id), {
        id: Number(row.id),
        table: row.table_name,
        month: new Date(row.month_from).toISOString().slice(0, 7),
        fileName: row.file_name,
        sha256: row.file_sha256,
        rows: Number(row.row_count),
        lastBatch: -1,
      });
    const byBatch = new Map<number, { archiveId: number; rows: number }[]>();
    if (archives.size > 0) {
      const batches = await db
        .selectFrom('evidence_archive_batch')
        .select(['archive_id', 'batch_id', 'row_count'])
        .where('archive_id', 'in', [...archives.keys()])
        .orderBy('batch_id')
        .execute();
      for (const b of batches) {
        const batchId = Number(b.batch_id);
        const list = byBatch.get(batchId) ?? [];
        list.push({ archiveId: Number(b.archive_id), rows: b.row_count });
        byBatch.set(batchId, list);
        const archive = archives.get(Number(b.archive_id))!;
        archive.lastBatch = Math.max(archive.lastBatch, batchId);
      }
    }
    return new ArchivedBatches(archiveDir, archives, byBatch);
  }

  get empty(): boolean {
    return this.#archives.size === 0;
  }

  /** The ids of the batches with archived rows that the chain does not hold. */
  batchIds(): number[] {
    return [...this.#byBatch.keys()];
  }

  async #cursor(archive: Archive): Promise<ArchiveCursor | null> {
    if (this.#cursors.has(archive.id)) return this.#cursors.get(archive.id)!;
    const cursor = this.#dir ? ((await ArchiveCursor.open(path.join(this.#dir, archive.fileName))) ?? null) : null;
    if (!cursor) this.#unavailable.add(archive.id);
    this.#cursors.set(archive.id, cursor);
    return cursor;
  }

  /** The archived rows of a batch (as the table's columns), and how many of its rows are
   *  in files that are not here. */
  async rowsOf(
    batchId: number,
  ): Promise<{ rows: Record<string, unknown>[]; unavailableRows: number; problems: ArchiveProblem[]; files: string[] }> {
    const rows: Record<string, unknown>[] = [];
    const files: string[] = [];
    const problems: ArchiveProblem[] = [];
    let unavailableRows = 0;
    for (const part of this.#byBatch.get(batchId) ?? []) {
      const archive = this.#archives.get(part.archiveId)!;
      const where = `archive ${archive.fileName} (${archive.table} ${archive.month})`;
      const cursor = await this.#cursor(archive);
      if (!cursor) {
        unavailableRows += part.rows;
        continue;
      }
      try {
        const skipped = await cursor.skipBefore(batchId);
        if (skipped > 0)
          problems.push({
            batchId,
            table: archive.table,
            reason: `${where} holds ${skipped} row(s) of batches its manifest does not list`,
          });
        const taken = await cursor.takeBatch(batchId);
        this.#rows += taken.length;
        for (const item of taken) rows.push(item.row);
        if (taken.length > 0) files.push(archive.fileName);
        if (batchId === archive.lastBatch) {
          const read = await cursor.finish();
          this.#cursors.set(archive.id, null);
          this.#filesChecked++;
          if (read.sha256 !== archive.sha256)
            problems.push({
              batchId,
              table: archive.table,
              reason: `${where}: its SHA-256 is ${read.sha256}, the manifest recorded ${archive.sha256}: the file was changed`,
            });
          else if (read.rows !== archive.rows)
            problems.push({
              batchId,
              table: archive.table,
              reason: `${where}: holds ${read.rows} row(s), the manifest recorded ${archive.rows}`,
            });
        }
      } catch (error) {
        problems.push({ batchId, table: archive.table, reason: `${where} cannot be read: ${(error as Error).message}` });
        cursor.close();
        this.#cursors.set(archive.id, null);
      }
    }
    return { rows, unavailableRows, problems, files };
  }

  close(): void {
    for (const cursor of this.#cursors.values()) cursor?.close();
  }

  summary(): ArchiveCheckSummary {
    return {
      archives: this.#archives.size,
      filesChecked: this.#filesChecked,
      rows: this.#rows,
      unavailable: [...this.#unavailable].map((id) => {
        const archive = this.#archives.get(id)!;
        return { file: archive.fileName, sha256: archive.sha256, rows: archive.rows };
      }),
      unverifiedBatches: this.unverifiedBatches,
    };
  }
}
