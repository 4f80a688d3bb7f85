/**
 * Reads and changes batch records (`batch/<id>`) through the driver's RecordStore only:
 * every change is a compare-and-set loop (read, change, write if nobody wrote since), so
 * settlers racing over any number of processes and hosts never lose a count. A finished
 * batch's record is kept BATCH_RETENTION_MS, then expires.
 */
import type { RecordStore } from '../../store/record-store.ts';
import type { BatchRecord } from './batch-record.ts';

export const BATCH_NAMESPACE = 'batch';
/** How long a finished batch stays listed. */
export const BATCH_RETENTION_MS = 7 * 24 * 3600_000;

export async function readBatch(store: Pick<RecordStore, 'getRecord'>, id: string): Promise<BatchRecord | null> {
  const stored = await store.getRecord(BATCH_NAMESPACE, id);
  return stored ? parse(stored.value) : null;
}

/** A stored batch; one that does not parse (written by hand?) reads as absent rather than failing every job of it forever. */
function parse(value: string): BatchRecord | null {
  try {
    const record = JSON.parse(value) as BatchRecord;
    return typeof record === 'object' && record !== null && typeof record.total === 'number' ? record : null;
  } catch {
    return null;
  }
}

export async function createBatch(store: Pick<RecordStore, 'casRecord'>, record: BatchRecord): Promise<void> {
  if (!(await store.casRecord(BATCH_NAMESPACE, record.id, null, JSON.stringify(record), ttlOf(record)))) {
    throw new Error(`A batch with id ${record.id} already exists`);
  }
}

/**
 * Applies `change` to the batch until it is written; `change` returns null for "nothing to
 * change". Resolves to the record as it now stands (null: no such batch).
 */
export async function updateBatch(store: Pick<RecordStore, 'getRecord' | 'casRecord'>, id: string, change: (record: BatchRecord) => BatchRecord | null): Promise<BatchRecord | null> {
  for (let tries = 0; ; tries++) {
    const stored = await store.getRecord(BATCH_NAMESPACE, id);
    const current = stored ? parse(stored.value) : null;
    if (!stored || !current) return null;
    const next = change(current);
    if (!next) return current;
    if (await store.casRecord(BATCH_NAMESPACE, id, stored.version, JSON.stringify(next), ttlOf(next))) return next;
    // Lost a race: another settler wrote first. Spread the next tries so a crowd thins out.
    if (tries >= 1) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, tries * 3)));
  }
}

/** How many batch records a listing reads to find the newest created (the store lists the last written first). */
const LIST_SCAN = 10_000;

/** The `limit` most recently created batches, newest first. */
export async function listBatches(store: Pick<RecordStore, 'listRecords'>, limit: number): Promise<BatchRecord[]> {
  return (await store.listRecords(BATCH_NAMESPACE, Math.max(limit, LIST_SCAN))).map((r) => parse(r.value)).filter((r): r is BatchRecord => r !== null)
    .sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
}

export async function deleteBatch(store: Pick<RecordStore, 'deleteRecord'>, id: string): Promise<void> {
  await store.deleteRecord(BATCH_NAMESPACE, id);
}

function ttlOf(record: BatchRecord): number | null {
  return record.finishedAt === null ? null : BATCH_RETENTION_MS;
}
