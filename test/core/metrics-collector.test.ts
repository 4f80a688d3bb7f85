/**
 * The metrics collector counts each attempt in memory under its minute, queue and job name, and
 * sends them in one addMetrics call per flush with the all-time totals beside them, so the
 * dashboard's per-minute figures and Prometheus counters add up to what ran; a failed flush
 * loses nothing, and old minutes are pruned now and then.
 */
import { describe, expect, it } from 'vitest';
import { RUNTIME_BUCKETS_MS, TOTALS_MINUTE, type MetricSample, type MetricsStore } from '../../src/store/admin-store.ts';
import { bucketOf, MetricsCollector, PRUNE_EVERY_MS } from '../../src/store/metrics-collector.ts';
import { TestClock } from '../helpers/clock.ts';

/** Records what the collector sends; `failing`: the next calls throw (a store that is down). */
class Recorder implements MetricsStore {
  calls: MetricSample[][] = [];
  prunes: number[] = [];
  failing = false;
  async addMetrics(samples: readonly MetricSample[]) {
    if (this.failing) throw new Error('store down');
    this.calls.push(structuredClone([...samples]));
  }
  async readMetrics() {
    return [];
  }
  async pruneMetrics(before: number) {
    this.prunes.push(before);
    return 0;
  }
}

const quiet = { warn: () => undefined };
const MINUTE = 60_000;

function setup(retentionHours = 24) {
  const clock = new TestClock();
  const store = new Recorder();
  const collector = new MetricsCollector(store, quiet, clock, { retentionHours, flushMs: 3_600_000 });
  return { clock, store, collector };
}

describe('the metrics collector', () => {
  it('puts each runtime in the first bucket it does not exceed, the rest in +Inf', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(5)).toBe(0);
    expect(bucketOf(6)).toBe(1);
    expect(bucketOf(1_000)).toBe(RUNTIME_BUCKETS_MS.indexOf(1_000));
    expect(bucketOf(300_001)).toBe(RUNTIME_BUCKETS_MS.length);
  });

  it('sends one sample per minute, queue and name, and the same counts under the totals minute', async () => {
    const { store, collector } = setup();
    const m = 100 * MINUTE;
    const send = { queue: 'mail', name: 'send-mail', scheduledAt: m - 50 };
    collector.record(send, 'done', m, m + 20); // waited 50, ran 20
    collector.record(send, 'retried', m + 10, m + 3_010); // waited 60, ran 3000
    collector.record({ ...send, scheduledAt: m + MINUTE }, 'failed', m + MINUTE + 5, m + MINUTE + 6);
    collector.record({ queue: 'default', name: 'report', scheduledAt: m }, 'done', m + 1, m + 2);
    await collector.flush();
    expect(store.calls).toHaveLength(1);
    const byKey = new Map(store.calls[0]!.map((s) => [`${s.minute}/${s.queue}/${s.name}`, s]));
    expect(byKey.size).toBe(5);
    const first = byKey.get(`${m}/mail/send-mail`)!;
    expect(first).toMatchObject({ done: 1, retried: 1, failed: 0, runtimeMs: 3_020, waitMs: 110 });
    expect(first.buckets[bucketOf(20)]).toBe(1);
    expect(first.buckets[bucketOf(3_000)]).toBe(1);
    expect(first.buckets.reduce((a, b) => a + b)).toBe(2);
    expect(byKey.get(`${m + MINUTE}/mail/send-mail`)).toMatchObject({ failed: 1, runtimeMs: 1, waitMs: 5 });
    expect(byKey.get(`${TOTALS_MINUTE}/mail/send-mail`)).toMatchObject({ done: 1, retried: 1, failed: 1, runtimeMs: 3_021, waitMs: 115 });
    expect(byKey.get(`${TOTALS_MINUTE}/default/report`)).toMatchObject({ done: 1, runtimeMs: 1, waitMs: 1 });
    // Counted once: a second flush has nothing new to send.
    await collector.flush();
    expect(store.calls).toHaveLength(1);
  });

  it('keeps the counts of a flush the store refused and sends them with the next one', async () => {
    const { clock, store, collector } = setup();
    const t = clock.now();
    const job = { queue: 'default', name: 'x', scheduledAt: t };
    collector.record(job, 'done', t + 10, t + 20);
    store.failing = true;
    await collector.flush();
    store.failing = false;
    collector.record(job, 'done', t + 30, t + 40);
    await collector.close();
    expect(store.calls).toHaveLength(1);
    const totals = store.calls[0]!.find((s) => s.minute === TOTALS_MINUTE)!;
    expect(totals.done).toBe(2);
  });

  it('prunes minutes older than the retention at most once per PRUNE_EVERY_MS, on a whole minute', async () => {
    const { clock, store, collector } = setup(2);
    clock.advance(PRUNE_EVERY_MS); // past the random first turn
    await collector.flush();
    expect(store.prunes).toHaveLength(1);
    const before = store.prunes[0]!;
    expect(before % MINUTE).toBe(0);
    expect(clock.now() - 2 * 3_600_000 - before).toBeGreaterThanOrEqual(0);
    expect(clock.now() - 2 * 3_600_000 - before).toBeLessThan(MINUTE);
    await collector.flush();
    expect(store.prunes).toHaveLength(1);
    clock.advance(PRUNE_EVERY_MS);
    await collector.flush();
    expect(store.prunes).toHaveLength(2);
  });

  it('drops counts older than the retention that a refusing store kept back, so memory stays bounded', async () => {
    const { clock, store, collector } = setup(1);
    const old = clock.now() - 2 * 3_600_000;
    collector.record({ queue: 'q', name: 'n', scheduledAt: old }, 'done', old, old + 1);
    store.failing = true;
    await collector.flush();
    store.failing = false;
    await collector.flush();
    expect(store.calls).toHaveLength(0);
  });

  it('never makes a waiting caller pay for the store: record is synchronous and flush never throws', async () => {
    const { store, collector } = setup();
    store.failing = true;
    collector.record({ queue: 'q', name: 'n', scheduledAt: 0 }, 'failed', 1, 2);
    await expect(collector.close()).resolves.toBeUndefined();
  });
});
