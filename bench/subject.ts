/**
 * What a benchmark subject (ours on a store, or a peer) offers to measure; bench/measure.ts runs
 * one measurement of one subject in a process of its own.
 */
export interface Subject {
  /** ms to dispatch n no-op jobs from application code, one call per job, 100 in flight. */
  dispatch(n: number): Promise<number>;
  /** ms to dispatch n no-op jobs in one bulk call (BullMQ's addBulk, our dispatchMany); absent where the peer has none. */
  bulk?(n: number): Promise<number>;
  /** ms to work off n no-op jobs already queued, at this concurrency. */
  process(n: number, concurrency: number): Promise<number>;
  /** dispatch→start ms of `samples` jobs sent 10 ms apart to an idle worker. */
  latency(samples: number): Promise<number[]>;
}
