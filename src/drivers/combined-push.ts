/**
 * Dispatches made while others are being written are written together. A dispatch goes out at
 * once while fewer than `limit` writes are in flight; beyond that it waits, and when a write
 * comes back every dispatch that waited meanwhile goes out in one (a PUSH_MANY script, a
 * multi-row INSERT). A lone dispatch pays nothing for this; twenty at once on a request's path
 * cost a few writes instead of twenty (one commit, one fsync, one script call each), and none
 * waits for a connection of the pool. Each dispatch gets its own outcome: `many` settles each
 * job on its own (a store whose combined write may fail as a whole writes them again one by one).
 */
import type { PushResult } from '../store/driver.ts';

interface Waiting<J> {
  job: J;
  resolve: (result: PushResult) => void;
  reject: (error: unknown) => void;
}

export class CombinedPush<J> {
  private waiting: Waiting<J>[] = [];
  private inFlight = 0;

  /**
   * `one` writes a job, `many` several (at most `most`) with an outcome for each; `limit`: the
   * writes in flight at once.
   */
  constructor(
    private readonly limit: number,
    private readonly most: number,
    private readonly one: (job: J) => Promise<PushResult>,
    private readonly many: (jobs: J[]) => Promise<PromiseSettledResult<PushResult>[]>,
  ) {}

  push(job: J): Promise<PushResult> {
    if (this.inFlight < this.limit) {
      this.inFlight++;
      return this.one(job).finally(() => this.done());
    }
    return new Promise((resolve, reject) => this.waiting.push({ job, resolve, reject }));
  }

  private done(): void {
    this.inFlight--;
    if (this.waiting.length > 0) this.flush();
  }

  /** Writes what waited (up to `most`) in one. */
  private flush(): void {
    const batch = this.waiting.length <= this.most ? this.waiting : this.waiting.slice(0, this.most);
    this.waiting = batch === this.waiting ? [] : this.waiting.slice(this.most);
    this.inFlight++;
    const written = batch.length === 1 ? this.one(batch[0]!.job).then((r): PromiseSettledResult<PushResult>[] => [{ status: 'fulfilled', value: r }])
      : this.many(batch.map((w) => w.job));
    written.then(
      (settled) => settled.forEach((s, i) => (s.status === 'fulfilled' ? batch[i]!.resolve(s.value) : batch[i]!.reject(s.reason))),
      (error: unknown) => { for (const w of batch) w.reject(error); },
    ).finally(() => this.done());
  }
}
