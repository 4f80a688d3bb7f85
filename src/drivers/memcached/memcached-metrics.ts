/**
 * The `memcached` driver's metrics (MetricsStore in admin-store.ts): `P:metrics:<minute>`, the
 * samples of one minute as JSON, added to by CAS (`Memcached.update`), so writers from any number
 * of processes add up. Memcached cannot list keys: the minutes are listed in the `metrics` log
 * (memcached-log.ts), each appended once (guarded by `add` of `P:metrics-listed:<minute>`); the
 * all-time totals (TOTALS_MINUTE) are read directly and never pruned.
 * Best effort: memcached may evict a minute's samples under memory pressure, totals included
 * (Prometheus then sees its counters reset), and forgets them all on restart.
 */
import { TOTALS_MINUTE, type MetricSample, type MetricsStore } from '../../store/admin-store.ts';
import { addSamples, sortSamples } from '../admin-shared.ts';
import type { Memcached } from './memcached-client.ts';
import type { MemcachedLog } from './memcached-log.ts';

export class MemcachedMetrics implements MetricsStore {
  constructor(private readonly mc: Memcached, private readonly logs: MemcachedLog, private readonly opened: { open(): Promise<void> }) {}

  private key(minute: number): string {
    return this.mc.key('metrics', minute);
  }

  async addMetrics(samples: readonly MetricSample[]): Promise<void> {
    await this.opened.open();
    const byMinute = new Map<number, MetricSample[]>();
    for (const sample of samples) byMinute.set(sample.minute, [...(byMinute.get(sample.minute) ?? []), sample]);
    for (const [minute, added] of byMinute) {
      await this.mc.update(this.key(minute), (text) => JSON.stringify([...addSamples(addSamples(new Map(), parse(text)), added).values()]));
      if (minute !== TOTALS_MINUTE && (await this.mc.add(this.mc.key('metrics-listed', minute), '1'))) await this.logs.append('metrics', String(minute));
    }
  }

  /** The listed minutes, with the log's head. */
  private async minutes(): Promise<{ head: number; entries: [number, number | null][] }> {
    const { head, entries } = await this.logs.slots('metrics', 100_000);
    return { head, entries: entries.map(([n, minute]) => [n, minute === undefined ? null : Number(minute)]) };
  }

  async readMetrics(from: number, to: number): Promise<MetricSample[]> {
    await this.opened.open();
    const listed = (await this.minutes()).entries.map(([, minute]) => minute).filter((m): m is number => m !== null);
    const minutes = [...new Set([TOTALS_MINUTE, ...listed])].filter((m) => m >= from && m < to);
    const texts = await this.mc.getMany(minutes.map((m) => this.key(m)));
    return sortSamples([...texts.values()].flatMap(parse));
  }

  async pruneMetrics(before: number): Promise<number> {
    await this.opened.open();
    const { head, entries } = await this.minutes();
    const pruned = new Set<number>();
    let n = 0;
    for (const [, minute] of entries) {
      if (minute === null || minute >= before || minute === TOTALS_MINUTE || pruned.has(minute)) continue;
      const text = await this.mc.get(this.key(minute));
      // Listed first, so a writer that adds to this minute again lists it again.
      await this.mc.delete(this.mc.key('metrics-listed', minute));
      await this.mc.delete(this.key(minute));
      n += parse(text).length;
      pruned.add(minute);
    }
    const upTo = entries.at(-1)?.[0] ?? head;
    await this.logs.advance('metrics', head, (slot) => {
      const minute = entries[slot - head - 1]?.[1];
      return minute === null || minute === undefined || pruned.has(minute);
    }, upTo);
    return n;
  }
}

function parse(text: string | undefined): MetricSample[] {
  try {
    const samples = JSON.parse(text ?? '[]') as unknown;
    return Array.isArray(samples) ? (samples as MetricSample[]) : [];
  } catch {
    return [];
  }
}
