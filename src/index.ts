/**
 * The public API: `import { Jobable, Job, Event, Schedule, defineConfig, rateLimited } from 'rakit'`, the
 * errors a caller can meet, and the types of each.
 */
export { Jobable, type JobClass, type JobContext } from './core/jobable.ts';
export { Job, type JobRunOptions } from './core/job-facade.ts';
export { Event } from './core/events.ts';
export type { JobEvent, JobEventName, JobEventListener } from './core/job-events.ts';
export type { JobMiddleware, Next } from './core/middleware/pipeline.ts';
export { rateLimited, type RateLimitOptions } from './core/middleware/rate-limited.ts';
export { concurrencyLimited, type ConcurrencyLimitOptions } from './core/middleware/concurrency-limited.ts';
export { throttleExceptions, type ThrottleOptions } from './core/middleware/throttle-exceptions.ts';
export { skipIf } from './core/middleware/skip-if.ts';
export type { LimitKey } from './core/middleware/limit-record.ts';
export type { JobProgress } from './core/middleware/progress.ts';
export { Schedule, type ScheduledTask, type ScheduleStore, type LockInfo, type RunRecord } from './schedule/index.ts';
export { PendingDispatch, type DispatchResult } from './core/pending-dispatch.ts';
export { PendingChain, PendingBatch, PendingBulkDispatch, Batch, MadeJob, type ChainResult, type JobLike } from './core/flows/index.ts';
export { defineConfig, type JobConfig, type JobConfigInput } from './core/config.ts';
export { configure, closeRuntime } from './core/runtime.ts';
export {
  RakitError, UsageError, ConfigError, PayloadError, DateError, UnknownJobError, DiscoveryError,
  ConnectionError, DatabaseError, TimeoutError, WorkerDiedError, UnrecoverableError,
} from './core/errors.ts';
export { dashboardHandler, type DashboardHandler, type DashboardOptions } from './dashboard/handler.ts';
export type { Payload } from './core/payload.ts';
export type { When } from './core/when.ts';
export type { Backoff } from './core/backoff.ts';
export type { WorkerSummary } from './core/worker-options.ts';
export type * from './core/driver.ts';
