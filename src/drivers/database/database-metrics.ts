/**
 * The `database` driver's metrics (`<table>_metrics`, one row per minute, queue and job name,
 * with one column per counter and per runtime bucket). Writers add to the stored counters in one
 * upsert per batch of samples (`ON CONFLICT ... DO UPDATE` on SQLite and PostgreSQL, `ON
 * DUPLICATE KEY UPDATE` on MySQL/MariaDB), so any number of them can write at once.
 */
import type { Knex } from 'knex';
import { RUNTIME_BUCKETS_MS, TOTALS_MINUTE, type MetricSample, type MetricsStore } from '../../store/admin-store.ts';
import type { SqlStore } from './database-sql.ts';

const COUNTERS = { done: 'done', failed: 'failed', retried: 'retried', runtime_ms: 'runtimeMs', wait_ms: 'waitMs' } as const;
const BUCKETS = Array.from({ length: RUNTIME_BUCKETS_MS.length + 1 }, (_, i) => `b${i}`);
const ADDED = [...Object.keys(COUNTERS), ...BUCKETS];
const KEY = ['minute', 'queue', 'name'];
/** Rows per upsert: 23 bound values each, well under every server's limit. */
const CHUNK = 40;

type MetricRow = Record<string, number | string>;

export class DatabaseMetrics implements MetricsStore {
  constructor(private readonly store: SqlStore) {}

  private get table(): string {
    return `${this.store.names.table}_metrics`;
  }

  async addMetrics(samples: readonly MetricSample[]): Promise<void> {
    // One row per key: an upsert may not touch a row twice (PostgreSQL), and rows in key order
    // take their locks in the same order in every writer.
    const rows = new Map<string, MetricRow>();
    for (const sample of samples) {
      const key = JSON.stringify([sample.minute, sample.queue, sample.name]);
      const row = rows.get(key) ?? { minute: sample.minute, queue: sample.queue, name: sample.name };
      for (const [column, field] of Object.entries(COUNTERS)) row[column] = Number(row[column] ?? 0) + sample[field];
      BUCKETS.forEach((column, i) => (row[column] = Number(row[column] ?? 0) + (sample.buckets[i] ?? 0)));
      rows.set(key, row);
    }
    const sorted = [...rows.values()].sort(byKey);
    for (let i = 0; i < sorted.length; i += CHUNK) {
      const chunk = sorted.slice(i, i + CHUNK);
      await this.store.run(() => this.store.knex(this.table).insert(chunk).onConflict(KEY).merge(this.adding()));
    }
  }

  /** Each counter set to the stored value plus the inserted one. */
  private adding(): Record<string, Knex.Raw> {
    const { knex, dialect } = this.store;
    return Object.fromEntries(ADDED.map((column) => [column, dialect === 'mysql'
      ? knex.raw('?? + VALUES(??)', [column, column])
      : knex.raw('??.?? + excluded.??', [this.table, column, column])]));
  }

  async readMetrics(from: number, to: number): Promise<MetricSample[]> {
    return this.store.run(async () => {
      const rows = (await this.store.knex(this.table).where('minute', '>=', from).andWhere('minute', '<', to).select('*')) as MetricRow[];
      return rows.sort(byKey).map(toSample);
    });
  }

  async pruneMetrics(before: number): Promise<number> {
    return this.store.run(async () =>
      Number(await this.store.knex(this.table).where('minute', '<', before).andWhereNot('minute', TOTALS_MINUTE).delete()));
  }
}

/** Minute, then queue, then name (in code-unit order, whatever the server's collation). */
function byKey(a: MetricRow, b: MetricRow): number {
  return Number(a.minute) - Number(b.minute) || compare(String(a.queue), String(b.queue)) || compare(String(a.name), String(b.name));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toSample(row: MetricRow): MetricSample {
  return {
    minute: Number(row.minute), queue: String(row.queue), name: String(row.name),
    done: Number(row.done), failed: Number(row.failed), retried: Number(row.retried),
    runtimeMs: Number(row.runtime_ms), waitMs: Number(row.wait_ms),
    buckets: BUCKETS.map((column) => Number(row[column])),
  };
}
