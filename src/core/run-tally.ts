/**
 * The run-wide counts of a manager's run, across its worker processes and their successors:
 * the claim budget of `--once` / `--max-jobs` (each claim asks for its share, so the whole run
 * takes no more), the done / retried / failed totals, and the reason the run stopped.
 */
import type { StopReason, WorkerOptions, WorkerSummary } from './worker-options.ts';

export class RunTally {
  readonly summary: WorkerSummary = { reason: 'empty', done: 0, retried: 0, failed: 0 };
  /** The first reason that ended the run, if any yet. */
  reason: StopReason | null = null;
  /** Claims the run may still grant; granted ones not yet started or given back. */
  private left = Infinity;
  private granted = 0;
  /** The cap was used up: processes finish and none is replaced. */
  ended: StopReason | null = null;

  constructor(private readonly worker: Pick<WorkerOptions, 'once' | 'maxJobs'>) {
    const cap = worker.once ? 1 : worker.maxJobs;
    if (cap > 0) this.left = cap;
  }

  /** Whether claims must ask for budget. */
  get capped(): boolean {
    return this.left !== Infinity;
  }

  /** A claim of up to `n`: how many it may take. */
  grant(n: number): number {
    const given = Math.min(n, this.left);
    this.left -= given;
    this.granted += given;
    return given;
  }

  unused(n: number): void {
    this.left += n;
    this.granted -= n;
  }

  /** Attempts started under granted budget; true once the cap is used up (the run ends after them). */
  started(n: number): boolean {
    this.granted -= Math.min(this.granted, n);
    if (this.left > 0 || this.granted > 0 || this.ended) return false;
    this.ended = this.worker.once ? 'once' : 'max-jobs';
    this.reason ??= this.ended;
    return true;
  }

  /** A process's own summary joins the run's. */
  add(part: WorkerSummary): void {
    this.summary.done += part.done;
    this.summary.retried += part.retried;
    this.summary.failed += part.failed;
    if (part.reason !== 'recycled' && part.reason !== 'memory') this.reason ??= part.reason;
  }

  /** The run's summary, `fallback` as its reason if nothing ended it. */
  final(fallback: StopReason): WorkerSummary {
    return { ...this.summary, reason: this.reason ?? fallback };
  }
}
