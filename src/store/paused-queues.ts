/**
 * Paused queues as a worker sees them (`job:pause`, the dashboard): the last list read from the
 * store, read once when the worker starts and then refreshed in the background every
 * PAUSE_POLL_MS, so no claim waits for it; and a wake-up for an idle worker when the list
 * changes, so a resume is seen within about a second even by a worker sleeping on an empty queue.
 * A read that fails keeps the last list (the claim reports the outage).
 */
import { PAUSE_POLL_MS, type PausableQueue } from './admin-store.ts';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';

const NONE: readonly string[] = [];

export class PausedQueues {
  private list = NONE;
  private timer: NodeJS.Timeout | null = null;
  private readonly wakers = new Set<() => void>();
  private failing = false;
  private reading = false;

  constructor(private readonly store: Pick<PausableQueue, 'pausedQueues'>, private readonly logger: Pick<Logger, 'warn'>, private readonly everyMs = PAUSE_POLL_MS) {}

  /** The first read (awaited: a worker must not claim from a paused queue before it knows), then the background refresh. */
  async begin(): Promise<void> {
    if (this.timer) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.everyMs);
    this.timer.unref();
  }

  /** The paused queues as last read (sorted). */
  get current(): readonly string[] {
    return this.list;
  }

  /** Resolves when the list changes (or when `signal` aborts): an idle worker's cue to look again. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.wakers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      if (signal.aborted) return resolve();
      this.wakers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async refresh(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const list = await this.store.pausedQueues();
      this.failing = false;
      if (list.length === this.list.length && list.every((q, i) => q === this.list[i])) return;
      this.list = list.length ? list : NONE;
      for (const wake of [...this.wakers]) wake();
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: coerceError(error) }, 'Cannot read the paused queues; keeping the last list');
      this.failing = true;
    } finally {
      this.reading = false;
    }
  }
}
