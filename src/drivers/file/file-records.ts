/**
 * The `file` driver's record store (record-store.ts): `records/<namespace>/<sha1 of id>.rec`,
 * a JSON header line (id, version, write time, expiry) then the value, each file replaced whole
 * (file-store.ts), so readers need no lock. A compare-and-set or delete reads, compares and
 * writes holding `<sha1 of id>.lock` (exclusive create, file-store.ts `withLock`), so one writer
 * at a time wins on every process and host sharing the folder. Time to live is judged by the
 * driver's clock; listing a namespace removes the expired files it finds.
 */
import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ListedRecord, RecordStore, StoredRecord } from '../../store/record-store.ts';
import type { FileAdminQueue } from './file-admin.ts';
import { list, newId, splitJob, withLock, writeAtomic } from './file-store.ts';
import { checkRecord, inChunks } from '../record-shared.ts';

/** No compare-and-set holds a record's lock this long: its holder died. */
const STALE_LOCK_MS = 10_000;

interface RecordHeader {
  id: string;
  version: string;
  /** Write time, by the writer's clock: the listing order. */
  at: number;
  expiresAt: number | null;
}

interface RecordFile extends RecordHeader {
  value: string;
}

export class FileRecords implements RecordStore {
  constructor(private readonly queue: FileAdminQueue) {}

  private dir(namespace: string): string {
    return path.join(this.queue.root, 'records', namespace);
  }

  private file(namespace: string, id: string, ext: 'rec' | 'lock'): string {
    return path.join(this.dir(namespace), `${createHash('sha1').update(id).digest('hex')}.${ext}`);
  }

  /** The record in `file` if it is there and live now. */
  private async read(file: string): Promise<RecordFile | null> {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (text === null) return null;
    const [head, value] = splitJob(text);
    try {
      const header = JSON.parse(head) as RecordHeader;
      return { ...header, value };
    } catch {
      return null; // not a record file: treated as absent, and replaced by the next write
    }
  }

  private expired(record: RecordHeader): boolean {
    return record.expiresAt !== null && record.expiresAt <= this.queue.clock.now();
  }

  private live(record: RecordFile | null): record is RecordFile {
    return record !== null && !this.expired(record);
  }

  async getRecord(namespace: string, id: string): Promise<StoredRecord | null> {
    checkRecord(namespace, id);
    await this.queue.open();
    const record = await this.read(this.file(namespace, id, 'rec'));
    return this.live(record) ? { value: record.value, version: record.version } : null;
  }

  async casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    checkRecord(namespace, id, value);
    await this.queue.open();
    const file = this.file(namespace, id, 'rec');
    const stale = (current: RecordFile | null) => (version === null ? this.live(current) : !this.live(current) || current.version !== version);
    // Versions never come back, so a writer that already lost needs no lock to say so.
    if (stale(await this.read(file))) return false;
    return withLock(this.file(namespace, id, 'lock'), STALE_LOCK_MS, async () => {
      if (stale(await this.read(file))) return false;
      const at = this.queue.clock.now();
      const header: RecordHeader = { id, version: newId(), at, expiresAt: ttlMs === null ? null : at + ttlMs };
      await writeAtomic(this.queue.root, file, `${JSON.stringify(header)}\n${value}`);
      return true;
    });
  }

  async deleteRecord(namespace: string, id: string, version?: string): Promise<boolean> {
    checkRecord(namespace, id);
    await this.queue.open();
    return this.drop(namespace, id, (record) => this.live(record) && (version === undefined || record.version === version));
  }

  /** Deletes the record holding its lock, when `accept` says so of what is there. */
  private drop(namespace: string, id: string, accept: (record: RecordFile | null) => boolean): Promise<boolean> {
    const file = this.file(namespace, id, 'rec');
    return withLock(this.file(namespace, id, 'lock'), STALE_LOCK_MS, async () => {
      if (!accept(await this.read(file))) return false;
      await unlink(file).catch(() => undefined);
      return true;
    });
  }

  async listRecords(namespace: string, limit: number): Promise<ListedRecord[]> {
    checkRecord(namespace, null);
    await this.queue.open();
    const dir = this.dir(namespace);
    const files = (await list(dir)).filter((f) => f.endsWith('.rec'));
    const records = (await inChunks(files, 64, (f) => this.read(path.join(dir, f)))).filter((r) => r !== null);
    const expired = records.filter((r) => this.expired(r));
    // Expired files are removed here, each under its lock and only if still expired.
    await inChunks(expired, 16, (r) => this.drop(namespace, r.id, (now) => now !== null && !this.live(now)));
    return records
      .filter((r) => !this.expired(r))
      .sort((a, b) => b.at - a.at || (a.version < b.version ? 1 : a.version > b.version ? -1 : 0))
      .slice(0, Math.max(0, limit))
      .map((r) => ({ id: r.id, value: r.value, version: r.version }));
  }
}
