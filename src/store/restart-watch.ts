/**
 * `job:restart` as a worker sees it: the stored restart mark when the run began, compared with
 * the stored one at most every RESTART_CHECK_MS; a new mark means "exit after the running jobs".
 */
import type { Clock } from '../infra/clock.ts';
import type { RestartSignal } from './driver.ts';

/** How often a worker looks for a `job:restart` mark. */
export const RESTART_CHECK_MS = 1_000;

export class RestartWatch {
  private checkedAt = -Infinity;

  /** `mark`: the run's mark if known (undefined: read when `begin` is called). */
  constructor(private readonly driver: RestartSignal, private readonly clock: Clock, private mark?: number | null) {}

  async begin(): Promise<void> {
    if (this.mark === undefined) this.mark = await readRestartMark(this.driver);
    this.checkedAt = this.clock.now();
  }

  /** Whether `job:restart` stored a new mark since the run began. */
  async requested(): Promise<boolean> {
    const now = this.clock.now();
    if (now - this.checkedAt < RESTART_CHECK_MS) return false;
    this.checkedAt = now;
    const mark = await readRestartMark(this.driver);
    if (mark === undefined) return false;
    if (this.mark === undefined) this.mark = mark;
    return mark !== null && mark !== this.mark;
  }
}

/** The stored restart mark (null: none); undefined when the store cannot be read now (the claim reports outages). */
export async function readRestartMark(driver: RestartSignal): Promise<number | null | undefined> {
  try {
    return await driver.restartRequestedAt();
  } catch {
    return undefined;
  }
}
