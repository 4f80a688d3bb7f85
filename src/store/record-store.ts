/**
 * The store capability behind workflows and flow control (chains, batches, rate and concurrency
 * limits, throttling, progress), beside the worker's contract in driver.ts: `RecordStore`, small
 * named records updated by compare-and-set. Batches, limits and progress (src/flows/,
 * src/middleware/), and paused queues, the restart signal, workers and metrics
 * (store-services.ts) are built once over it, so every driver gets all of them by implementing
 * four methods whose atomicity the store already has (a transaction, a Lua script, a file lock,
 * memcached's cas). Bulk dispatch's `BulkQueue` is a queue capability and lives in driver.ts.
 *
 * Every driver (database on SQLite, MariaDB and PostgreSQL; redis, single and cluster; file;
 * memcached) implements it, and test/conformance/flow-contract.ts pins them on all seven stores.
 */
/** A record as read: its text and the version a compare-and-set must name to replace it. */
export interface StoredRecord {
  value: string;
  /** Opaque; changes on every write. */
  version: string;
}

/** A record as listed. */
export interface ListedRecord extends StoredRecord {
  id: string;
}

/**
 * Records live in namespaces (`batch`, `rate`, `progress`, ...): names of letters, digits and
 * `-`, with ids of at most 191 characters. A record with a time to live reads as absent once it
 * has expired, on every instance, and a compare-and-set against `null` may then create it anew.
 * Values are at most 512 KiB of text.
 */
export interface RecordStore {
  /** The record, or null when it is absent or expired. */
  getRecord(namespace: string, id: string): Promise<StoredRecord | null>;
  /**
   * Writes `value` if the record is still at `version` (null: only if absent or expired), in one
   * atomic step against every writer on every instance. True when written; false, changing
   * nothing, when another write came first. `ttlMs` (null: kept until deleted) counts from now.
   */
  casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean>;
  /** Deletes the record (only if still at `version`, when given); false when nothing was deleted. */
  deleteRecord(namespace: string, id: string, version?: string): Promise<boolean>;
  /** Live records of a namespace, the most recently written first, at most `limit`. */
  listRecords(namespace: string, limit: number): Promise<ListedRecord[]>;
}

export const RECORD_NAMESPACE = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const RECORD_ID_MAX = 191;
export const RECORD_VALUE_MAX = 512 * 1024;
