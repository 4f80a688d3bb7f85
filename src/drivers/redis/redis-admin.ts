/**
 * The `redis` driver's dashboard capabilities (admin-store.ts), one part per concept: the Jobs
 * page (redis-admin-jobs.ts), paused queues (redis-paused.ts), overlap locks (redis-locks.ts),
 * the worker registry (redis-workers.ts) and metrics (redis-metrics.ts). The driver delegates to them.
 */
import { RedisAdminJobs } from './redis-admin-jobs.ts';
import type { RedisKeys } from './redis-failed.ts';
import { RedisLocks } from './redis-locks.ts';
import { RedisMetrics } from './redis-metrics.ts';
import { RedisPausedQueues } from './redis-paused.ts';
import { RedisWorkers } from './redis-workers.ts';

export class RedisAdmin {
  readonly jobs: RedisAdminJobs;
  readonly paused: RedisPausedQueues;
  readonly locks: RedisLocks;
  readonly workers: RedisWorkers;
  readonly metrics: RedisMetrics;

  constructor(store: RedisKeys, prefix: string) {
    const open = () => store.open();
    this.jobs = new RedisAdminJobs(store);
    this.paused = new RedisPausedQueues(store.redis, `${prefix}:paused`, open);
    this.locks = new RedisLocks(store, this.jobs);
    this.workers = new RedisWorkers(store.redis, prefix, open);
    this.metrics = new RedisMetrics(store.redis, prefix, open);
  }
}
