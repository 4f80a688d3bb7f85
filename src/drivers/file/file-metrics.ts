/**
 * The `file` driver's metrics (MetricsStore in admin-store.ts): `metrics/<minute>.json`, the
 * samples of one minute, each file replaced whole (file-store.ts). Writers from any number of
 * processes add up under `metrics/.lock`, made by exclusive create; a lock older than
 * STALE_LOCK_MS (its holder died) is taken over. Readers need no lock: every file is whole.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { TOTALS_MINUTE, type MetricSample, type MetricsStore } from '../../store/admin-store.ts';
import { addSamples, sortSamples } from '../admin-shared.ts';
import type { FileAdminQueue } from './file-admin.ts';
import { list, readJson, withLock, writeAtomic } from './file-store.ts';

/** No flush holds the lock this long: its holder died. Wall-clock, as file times are. */
const STALE_LOCK_MS = 30_000;

export class FileMetrics implements MetricsStore {
  constructor(private readonly queue: FileAdminQueue) {}

  private dir(...parts: string[]): string {
    return path.join(this.queue.root, 'metrics', ...parts);
  }

  private async minuteFile(minute: number): Promise<MetricSample[]> {
    return (await readJson<MetricSample[]>(this.dir(`${minute}.json`))) ?? [];
  }

  private async minutes(): Promise<number[]> {
    return (await list(this.dir())).filter((f) => /^\d+\.json$/.test(f)).map((f) => Number(f.slice(0, -5)));
  }

  async addMetrics(samples: readonly MetricSample[]): Promise<void> {
    if (samples.length === 0) return;
    await this.queue.open();
    const byMinute = new Map<number, MetricSample[]>();
    for (const sample of samples) byMinute.set(sample.minute, [...(byMinute.get(sample.minute) ?? []), sample]);
    await this.locked(async () => {
      for (const [minute, added] of byMinute) {
        const merged = addSamples(addSamples(new Map(), await this.minuteFile(minute)), added);
        await writeAtomic(this.queue.root, this.dir(`${minute}.json`), JSON.stringify([...merged.values()]));
      }
    });
  }

  async readMetrics(from: number, to: number): Promise<MetricSample[]> {
    const out: MetricSample[] = [];
    for (const minute of await this.minutes()) if (minute >= from && minute < to) out.push(...(await this.minuteFile(minute)));
    return sortSamples(out);
  }

  async pruneMetrics(before: number): Promise<number> {
    await this.queue.open();
    return this.locked(async () => {
      let n = 0;
      for (const minute of await this.minutes()) {
        if (minute >= before || minute === TOTALS_MINUTE) continue;
        n += (await this.minuteFile(minute)).length;
        await rm(this.dir(`${minute}.json`), { force: true });
      }
      return n;
    });
  }

  /** Runs `fn` holding the metrics lock. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.dir('.lock'), STALE_LOCK_MS, fn);
  }
}
