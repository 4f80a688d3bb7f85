/**
 * A job relayed from the outbox runs once, though a relay killed between its push and its delete
 * pushes it again: each relayed job carries its outbox mark (`<row uid>.<index>`) in its workflow
 * envelope, and the first copy to start takes the mark in the records (namespace `outbox-run`,
 * with the id of the job that took it). A copy that finds the mark taken by another job is not
 * run; the job that took it may run again (its own retry).
 */
import type { RecordStore } from '../../store/record-store.ts';

/** How long a mark is kept: longer than any relay takes to push a row again. */
const MARK_TTL_MS = 7 * 24 * 3_600_000;

/** Whether the job `jobId` may run as outbox job `mark` (no other copy of it took the mark). */
export async function mayRunOutboxJob(records: Pick<RecordStore, 'casRecord' | 'getRecord'>, mark: string, jobId: string): Promise<boolean> {
  for (let i = 0; i < 3; i++) {
    if (await records.casRecord('outbox-run', mark, null, jobId, MARK_TTL_MS)) return true;
    const held = await records.getRecord('outbox-run', mark);
    if (held) return held.value === jobId;
  }
  return true;
}
