/**
 * What a worker loop runs on (WorkerDeps: the store, the job classes, the configuration, logging,
 * time, and its supervisor's hooks), and what a supervisor (the process manager) hears from a
 * worker loop in one of its processes and decides for it: the starts and ends of attempts, the
 * run-wide claim budget, and when the process is due for its successor.
 */
import type { Registry } from '../api/registry.ts';
import type { Clock } from '../infra/clock.ts';
import type { JobConfig } from '../infra/config.ts';
import type { Logger } from '../infra/logger.ts';
import type { FullDriver, ReservedJob } from '../store/driver.ts';
import type { AttemptPlan } from './job-policy.ts';
import type { Settled } from './settle.ts';

/** Lets a supervisor (the process manager) follow each attempt. */
export interface WorkerHooks {
  /** Awaited before job code runs, so the supervisor knows of the job before it can block the event loop. */
  attemptStarting?(job: ReservedJob, plan: AttemptPlan): Promise<void>;
  /**
   * As soon as the attempt's job code has ended (`cut`: it was stopped at its timeout), before its
   * outcome is recorded: what follows (the ack, a failed() hook) is not job code and has no deadline.
   */
  codeEnded?(job: ReservedJob, cut: boolean, succeeded: boolean): void;
  /** After the attempt's outcome is recorded in the driver: `kind` says what it was. */
  attemptEnded?(job: ReservedJob, kind: Settled['kind']): void;
  /** After the attempt's outcome is recorded, with the attempt's error (the sync driver hands a final one to the dispatcher). */
  settled?(job: ReservedJob, settled: Settled, error: Error | null): void;
  /** A supervisor records this process in the worker registry (heartbeat.ts): it writes no beat of its own. */
  reportedBySupervisor?: boolean;
  /** A supervisor kills this process when an attempt outlives its timeout, and records what it leaves running. */
  killsStuckAttempts?: boolean;
  /** A supervisor reads the cancel requests for this process and sends them (Worker.cancel): it reads none itself. */
  cancelsFromSupervisor?: boolean;
  /** A run-wide cap on claims (`--once`, `--max-jobs` across processes): how many of `n` this claim may take. */
  claimBudget?(n: number): Promise<number>;
  /** Gives back the part of a budget a claim did not use. */
  unusedBudget?(n: number): void;
  /** This process has claimed its `replaceAfter` jobs: its successor may start. */
  dueForReplacement?(): void;
}

/** What a worker loop runs on: the store, the job classes, the configuration, logging and time. */
export interface WorkerDeps {
  driver: FullDriver;
  registry: Registry;
  config: JobConfig;
  logger: Logger;
  clock: Clock;
  hooks?: WorkerHooks;
}
