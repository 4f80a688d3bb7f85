/**
 * The per-job policy of a worker: how many attempts a job gets (`tries`), how long it waits
 * between them (`backoff`), how long an attempt may run (`timeout`) and how long its claim
 * lasts (the lease). Class settings win over the worker's flags, flags over the config.
 */
import { backoffDelayMs, type Backoff } from '../infra/backoff.ts';
import type { JobConfig } from '../infra/config.ts';
import type { Leases, ReservedJob } from '../store/driver.ts';
import type { JobClass } from '../api/job-types.ts';
import type { Registry } from '../api/registry.ts';
import type { WorkerOptions } from './worker-options.ts';

/** How long past its timeout an attempt's code may run before its worker process is killed. */
export const KILL_GRACE_MS = 2_000;

/** A lease outlasts the job's timeout by this much, so no second worker can take a job still being stopped. */
export const LEASE_GRACE_MS = 15_000;

/** What is decided about one attempt before it runs; a supervising process gets it too. */
export interface AttemptPlan {
  /** The attempt's timeout. */
  timeoutMs: number;
  /** No retry follows this attempt if it fails. */
  final: boolean;
  /** Wait before the retry if it fails. */
  backoffMs: number;
  /** Total attempts the job gets. */
  tries: number;
}

export class JobPolicy {
  /** Leases by job name; the job classes of a process do not change once discovered. */
  private leasesCache: Leases | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly options: Pick<WorkerOptions, 'tries' | 'backoff' | 'timeout'>,
    private readonly config: Pick<JobConfig, 'max_retries' | 'backoff' | 'sleep_ms' | 'timeout'>,
  ) {}

  tries(jobClass: JobClass | null): number {
    return jobClass?.tries ?? this.options.tries ?? this.config.max_retries;
  }

  backoff(jobClass: JobClass | null): Backoff {
    return jobClass?.backoff ?? this.options.backoff ?? this.config.backoff ?? this.config.sleep_ms / 1000;
  }

  timeoutMs(jobClass: JobClass | null): number {
    return Math.round((jobClass?.timeout ?? this.options.timeout ?? this.config.timeout) * 1000);
  }

  /** The plan of this claim of `job` (`handled`: a handler exists; without one the first failure is final). */
  plan(job: ReservedJob, jobClass: JobClass | null, handled: boolean): AttemptPlan {
    const tries = this.tries(jobClass);
    return { timeoutMs: this.timeoutMs(jobClass), final: !handled || job.attempts >= tries, backoffMs: backoffDelayMs(this.backoff(jobClass), job.attempts), tries };
  }

  leases(): Leases {
    return (this.leasesCache ??= this.computeLeases());
  }

  private computeLeases(): Leases {
    const byName: Record<string, number> = {};
    for (const jobClass of this.registry.jobClasses()) byName[jobClass.nameOfJob] = this.timeoutMs(jobClass) + LEASE_GRACE_MS;
    return { byName, defaultMs: this.timeoutMs(null) + LEASE_GRACE_MS };
  }
}
