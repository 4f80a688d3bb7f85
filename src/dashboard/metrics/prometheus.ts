/**
 * `/metrics` in the Prometheus text format, built by prom-client in a fresh Registry per scrape
 * from what the store holds, so every host serving it says the same:
 * - counters `rakit_jobs_done_total`, `rakit_jobs_failed_total`, `rakit_jobs_retried_total` and
 *   the histogram `rakit_job_runtime_seconds`, per {queue, job_name}, from the all-time totals
 *   (TOTALS_MINUTE), which only grow;
 * - gauges `rakit_queue_jobs` per {queue, state} (ready, scheduled, reserved, failed),
 *   `rakit_queue_paused` per {queue} (1 or 0), for every queue in sight (queues-in-sight.ts:
 *   an emptied queue reads 0, it does not vanish), and `rakit_workers_live`.
 *
 * The job's label is `job_name`: Prometheus keeps `job` for the scrape job (a scraped `job` label
 * is stored as `exported_job`, and a query by `job` would find nothing).
 *
 * prom-client's Histogram can only observe values one by one; the stored histogram is bucket
 * counts already, so it is registered as a metric of our own whose `get()` gives the cumulative
 * buckets, the sum and the count, and prom-client writes the text as for its own histograms.
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { RUNTIME_BUCKETS_MS, TOTALS_MINUTE, type MetricSample } from '../../store/admin-store.ts';
import type { AdminDriver } from '../../store/driver.ts';
import { queuesAndWorkers } from '../../store/queues-in-sight.ts';

/** What `/metrics` reads: queue counts, paused queues, workers and the metrics totals. */
export type MetricsSource = Pick<AdminDriver, 'stats' | 'pausedQueues' | 'listWorkers' | 'readMetrics'>;

const STATES = ['ready', 'scheduled', 'reserved', 'failed'] as const;

/** The runtime histogram of the totals rows, per {queue, job_name}, in seconds. */
function runtimeHistogram(totals: readonly MetricSample[]): Metric {
  const values = totals.flatMap((s) => {
    const labels = { queue: s.queue, job_name: s.name };
    let cumulative = 0;
    const buckets = RUNTIME_BUCKETS_MS.map((ms, i) => {
      cumulative += s.buckets[i] ?? 0;
      return { metricName: 'rakit_job_runtime_seconds_bucket', labels: { ...labels, le: ms / 1000 }, value: cumulative };
    });
    const count = s.buckets.reduce((sum, n) => sum + n, 0);
    return [
      ...buckets,
      { metricName: 'rakit_job_runtime_seconds_bucket', labels: { ...labels, le: '+Inf' }, value: count },
      { metricName: 'rakit_job_runtime_seconds_sum', labels, value: s.runtimeMs / 1000 },
      { metricName: 'rakit_job_runtime_seconds_count', labels, value: count },
    ];
  });
  const metric = {
    name: 'rakit_job_runtime_seconds',
    help: 'Runtime of finished attempts (done, failed or retried), per queue and job',
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name: metric.name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values }),
  };
  return metric as unknown as Metric;
}

/**
 * The scrape. `config.metrics` false (no metrics kept) leaves out the job counters and the
 * histogram; the gauges are read from the queues either way.
 */
export async function prometheusText(driver: MetricsSource, config: { metrics: boolean }, now: number = Date.now()): Promise<{ contentType: string; body: string }> {
  const [{ queues, workers }, totals] = await Promise.all([
    queuesAndWorkers(driver, now, config.metrics),
    config.metrics ? driver.readMetrics(TOTALS_MINUTE, TOTALS_MINUTE + 1) : Promise.resolve([]),
  ]);
  const registry = new Registry();
  const registers = [registry];
  const jobLabels = ['queue', 'job_name'] as const;
  if (config.metrics) {
    const done = new Counter({ name: 'rakit_jobs_done_total', help: 'Attempts that succeeded, per queue and job', labelNames: jobLabels, registers });
    const failed = new Counter({ name: 'rakit_jobs_failed_total', help: 'Attempts that failed for good, per queue and job', labelNames: jobLabels, registers });
    const retried = new Counter({ name: 'rakit_jobs_retried_total', help: 'Attempts that failed and were retried, per queue and job', labelNames: jobLabels, registers });
    for (const s of totals) {
      const labels = { queue: s.queue, job_name: s.name };
      done.inc(labels, s.done);
      failed.inc(labels, s.failed);
      retried.inc(labels, s.retried);
    }
    registry.registerMetric(runtimeHistogram(totals));
  }
  const depth = new Gauge({ name: 'rakit_queue_jobs', help: 'Jobs per queue and state (failed: in the failed store)', labelNames: ['queue', 'state'] as const, registers });
  for (const q of queues) for (const state of STATES) depth.set({ queue: q.queue, state }, q[state]);
  const pausedGauge = new Gauge({ name: 'rakit_queue_paused', help: 'Whether the queue is paused (1) or not (0)', labelNames: ['queue'] as const, registers });
  for (const q of queues) pausedGauge.set({ queue: q.queue }, q.paused ? 1 : 0);
  const live = new Gauge({ name: 'rakit_workers_live', help: 'Worker processes beating now, on every host', registers });
  live.set(workers.filter((w) => w.stoppedAt === null && w.end === null).length);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
