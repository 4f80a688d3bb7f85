/**
 * Workflows: chains, batches and bulk dispatch, built once over the driver's capabilities
 * (RecordStore, BulkQueue, runJobNow, cancelJob, push) so every driver has them.
 */
export { PendingChain, type ChainResult } from './pending-chain.ts';
export { PendingBatch } from './batches/pending-batch.ts';
export { PendingBulkDispatch } from './bulk-dispatch.ts';
export { Batch, openBatch } from './batches/batch-handle.ts';
export { MadeJob, type JobLike } from './job-spec.ts';
export { Flows, flowsOf } from './settle-flows.ts';
export { HELD_AT, isHeld } from './held.ts';
