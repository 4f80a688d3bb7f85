/**
 * The public API: `import { Jobable, Job, Event, Schedule, defineConfig, rateLimited } from 'rakit'`, the
 * errors a caller can meet, and the types of each.
 */
export { Jobable } from './api/jobable.ts';
export type { JobClass, JobContext, JobInstance, JobMiddleware, Next } from './api/job-types.ts';
export { Job, type JobRunOptions } from './api/job-facade.ts';
export { Event } from './api/events.ts';
export type { JobEvent, JobEventName, JobEventListener } from './api/job-events.ts';
export { rateLimited, type RateLimitOptions } from './middleware/rate-limited.ts';
export { concurrencyLimited, type ConcurrencyLimitOptions } from './middleware/concurrency-limited.ts';
export { throttleExceptions, type ThrottleOptions } from './middleware/throttle-exceptions.ts';
export { skipIf } from './middleware/skip-if.ts';
export type { LimitKey } from './middleware/limit-record.ts';
export type { JobProgress } from './middleware/progress.ts';
export { Schedule, type ScheduledTask, type ScheduleStore, type LockInfo, type RunRecord } from './schedule/index.ts';
export { PendingDispatch, type DispatchResult } from './api/pending-dispatch.ts';
export { AfterCommit, type AppTransaction, type QueuedAfterCommit } from './api/in-transaction.ts';
export { PendingChain, PendingBatch, PendingBulkDispatch, Batch, MadeJob, type ChainResult, type JobLike } from './flows/index.ts';
export { defineConfig, type JobConfig, type JobConfigInput } from './infra/config.ts';
export { configure, closeRuntime } from './api/runtime.ts';
export { JobResultError, type ResultOptions } from './api/job-result.ts';
export type { CancelOutcome } from './flows/cancel-job.ts';
export {
  RakitError, UsageError, ConfigError, PayloadError, DateError, UnknownJobError, DiscoveryError,
  ConnectionError, DatabaseError, TimeoutError, CancelledError, WorkerDiedError, UnrecoverableError,
} from './infra/errors.ts';
export { dashboardHandler, type DashboardHandler } from './dashboard/handler.ts';
export type { DashboardOptions } from './dashboard/context.ts';
export type { Payload } from './api/payload.ts';
export type { When } from './infra/when.ts';
export type { Backoff } from './infra/backoff.ts';
export type { WorkerSummary } from './worker/worker-options.ts';
export type * from './store/driver.ts';
