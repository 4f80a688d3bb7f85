/**
 * The `file` driver's metrics (MetricsStore in admin-store.ts): `metrics/<minute>.json`, the
 * samples of one minute, each file replaced whole (file-store.ts). Writers from any number of
 * processes add up under `metrics/.lock`, made by exclusive create; a lock older than
 * STALE_LOCK_MS (its holder died) is taken over. Readers need no lock: every file is whole.
 */
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TOTALS_MINUTE, type MetricSample, type MetricsStore } from '../admin-store.ts';
import { addSamples, sortSamples } from './admin-shared.ts';
import type { FileAdminQueue } from './file-admin.ts';
import { list, newId, readJson, writeAtomic } from './file-store.ts';

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
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const lock = this.dir('.lock');
    const token = newId();
    await mkdir(this.dir(), { recursive: true, mode: 0o700 });
    for (let waited = 0; ; waited++) {
      try {
        await writeFile(lock, token, { flag: 'wx', mode: 0o600 });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      await this.takeOverIfStale(lock);
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + waited) * (0.5 + Math.random())));
    }
    try {
      return await fn();
    } finally {
      if ((await readFile(lock, 'utf8').catch(() => null)) === token) await rm(lock, { force: true });
    }
  }

  /** Moves a stale lock aside (one taker wins); puts back a live one moved by mistake. */
  private async takeOverIfStale(lock: string): Promise<void> {
    const held = await stat(lock).catch(() => null);
    if (!held || Date.now() - held.mtimeMs < STALE_LOCK_MS) return;
    const seen = await readFile(lock, 'utf8').catch(() => null);
    const aside = `${lock}.stale.${newId()}`;
    if (!(await rename(lock, aside).then(() => true, () => false))) return;
    // Another taker may have freed the stale lock and a writer made a fresh one since we looked.
    if ((await readFile(aside, 'utf8').catch(() => null)) !== seen) await link(aside, lock).catch(() => undefined);
    await rm(aside, { force: true });
  }
}
