/**
 * The run-wide counts of a manager's run, across its worker processes and their successors:
 * the claim budget of `--once` / `--max-jobs` (each claim asks for its share, so the whole run
 * takes no more), the done / retried / failed / skipped totals (of outcomes recorded, whoever
 * recorded them), the reason the run stopped, and
 * with --stop-when-empty the due times of jobs released or retried by processes that stopped first.
 */
import type { Settled } from '../worker/settle.ts';
import type { StopReason, WorkerOptions, WorkerSummary } from '../worker/worker-options.ts';

export class RunTally {
  readonly summary: WorkerSummary = { reason: 'empty', done: 0, retried: 0, failed: 0, skipped: 0 };
  /** --stop-when-empty: due times no live process is known to wait for (see `owe`). */
  private owed: number[] = [];
  /** The first reason that ended the run, if any yet. */
  reason: StopReason | null = null;
  /** Claims the run may still grant; granted ones not yet started or given back. */
  private left = Infinity;
  private granted = 0;
  /** The cap was used up: processes finish and none is replaced. */
  ended: StopReason | null = null;

  constructor(private readonly worker: Pick<WorkerOptions, 'once' | 'maxJobs' | 'stopWhenEmpty'>) {
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

  /**
   * A process stopped, saying why; `waiting`: the due times it stopped before (see `owe`). Its
   * counts are not taken from its summary: they were counted attempt by attempt as it recorded
   * them (`counted`), so a process killed before it could say its summary counts too.
   */
  stopped(reason: StopReason, waiting?: readonly number[]): void {
    if (waiting) this.owe(waiting);
    if (reason !== 'recycled' && reason !== 'memory') this.reason ??= reason;
  }

  /** An attempt's recorded outcome, by a process or by the manager. */
  counted(kind: Settled['kind']): void {
    if (kind === 'done' || kind === 'retried' || kind === 'failed' || kind === 'skipped') this.summary[kind]++;
  }

  /** An attempt the manager settled (its process died or was killed). */
  settled(result: Settled): void {
    this.counted(result.kind);
    if ('at' in result) this.owe([result.at]);
  }

  /**
   * --stop-when-empty: jobs are due at `times` and the process that would have waited for them
   * stopped first (replaced at max_job or --memory, or died). The run must not end before them.
   */
  owe(times: readonly number[]): void {
    if (this.worker.stopWhenEmpty) this.owed.push(...times);
  }

  /** The owed due times, handed over (once) to a process that will wait for them. */
  takeOwed(): number[] | null {
    if (this.owed.length === 0) return null;
    const owed = this.owed;
    this.owed = [];
    return owed;
  }

  /** The run's summary, `fallback` as its reason if nothing ended it. */
  final(fallback: StopReason): WorkerSummary {
    return { ...this.summary, reason: this.reason ?? fallback };
  }
}
