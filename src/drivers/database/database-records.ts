/**
 * The `database` driver's record store (`<table>_records`, one row per record): what batches,
 * limits and progress are kept in (src/store/record-store.ts). A compare-and-set is one UPDATE
 * guarded by the version read, or one INSERT guarded by the primary key; a record past its
 * `expires_at` reads as absent and is replaced by the next create. Versions are random, so a
 * record deleted and made again never matches a version read before.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ListedRecord, RecordStore, StoredRecord } from '../../store/record-store.ts';
import { sqlErrorCode } from './database-connection.ts';
import { DUPLICATE, type SqlStore } from './database-sql.ts';

interface RecordRow {
  id: string;
  value: string;
  version: string;
}

export class DatabaseRecords implements RecordStore {
  constructor(private readonly store: SqlStore) {}

  private records(db: Knex | Knex.Transaction = this.store.knex) {
    return db(`${this.store.names.table}_records`);
  }

  /** Rows of `namespace` (and `id`) that have not expired at `now`. */
  private live(q: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
    return q.where((w) => w.whereNull('expires_at').orWhere('expires_at', '>', now));
  }

  async getRecord(namespace: string, id: string): Promise<StoredRecord | null> {
    const now = this.store.clock.now();
    return this.store.run(async () => {
      const row = (await this.live(this.records().where({ namespace, id }), now).first('value', 'version')) as RecordRow | undefined;
      return row ? { value: row.value, version: row.version } : null;
    });
  }

  async casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    const now = this.store.clock.now();
    const fields = { value, version: randomBytes(9).toString('base64url'), written_at: now, expires_at: ttlMs === null ? null : now + ttlMs };
    return this.store.run(async () => {
      if (version !== null) {
        return (await this.live(this.records().where({ namespace, id, version }), now).update(fields)) === 1;
      }
      if (await this.insert({ namespace, id, ...fields })) return true;
      // Taken: by a live record (the race is lost), or by one that has expired, which gives way.
      const gone = await this.records().where({ namespace, id }).where('expires_at', '<=', now).delete();
      return gone === 1 && (await this.insert({ namespace, id, ...fields }));
    });
  }

  private async insert(row: Record<string, unknown>): Promise<boolean> {
    try {
      await this.records().insert(row);
      return true;
    } catch (error) {
      if (DUPLICATE.has(sqlErrorCode(error))) return false;
      throw error;
    }
  }

  async deleteRecord(namespace: string, id: string, version?: string): Promise<boolean> {
    const now = this.store.clock.now();
    return this.store.run(async () => {
      const q = this.live(this.records().where({ namespace, id }), now);
      if (version !== undefined) q.andWhere('version', version);
      return (await q.delete()) > 0;
    });
  }

  async listRecords(namespace: string, limit: number): Promise<ListedRecord[]> {
    const now = this.store.clock.now();
    return this.store.run(async () => {
      // Expired records of the namespace are dropped here, where someone looks at them.
      await this.records().where('namespace', namespace).where('expires_at', '<=', now).delete();
      const rows = (await this.live(this.records().where('namespace', namespace), now)
        .orderBy([{ column: 'written_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .limit(Math.max(0, Math.floor(limit))).select('id', 'value', 'version')) as RecordRow[];
      return rows.map((row) => ({ id: row.id, value: row.value, version: row.version }));
    });
  }
}
