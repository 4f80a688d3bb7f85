/**
 * The services every backend gets over its records (record-store.ts), written once: paused
 * queues, the restart signal, the worker registry with stop reasons, per-minute metrics, and
 * `job:retry` of ids (over the browser's `requeueFailed`). A backend writes its queue, browser and records
 * (driver.ts `Backend`) and extends this class; no driver keeps a copy of any of them. Each
 * change is a compare-and-set, retried when another writer came first, so they hold across
 * processes and hosts on every store exactly as the records do.
 *
 * The records they keep (namespace / id → value):
 *   paused / queues          JSON list of the paused queues, sorted (one read per worker poll)
 *   signal / restart         the time of the last `job:restart` (epoch ms)
 *   worker / <worker id>     JSON WorkerRecord, replaced by each beat
 *   metrics / <minute>       JSON MetricSample[] of that minute (minute 0: the all-time totals)
 */
import {
  LIVE_WITHIN_MS, STOPPED_KEPT, TOTALS_MINUTE,
  type MetricSample, type WorkerBeat, type WorkerEnd, type WorkerRecord,
} from './admin-store.ts';
import type { Clock } from '../infra/clock.ts';
import type { Requeued, RetryResult, StoreServices } from './driver.ts';
import { PAGE_MAX } from './failed/failed-view.ts';
import { addInto, emptySample } from './metrics-collector.ts';
import type { ListedRecord, StoredRecord } from './record-store.ts';

/** Compare-and-set attempts before a service gives up on a record many writers contend for. */
const CAS_TRIES = 100;
/** Read at once when a metrics window is read minute by minute. */
const READ_WIDTH = 32;
/** Records listed at most, where a service lists a whole namespace. */
const LIST_ALL = 100_000;
const MINUTE_MS = 60_000;

export abstract class ServicesOverRecords implements StoreServices {
  abstract readonly clock: Clock;
  abstract getRecord(namespace: string, id: string): Promise<StoredRecord | null>;
  abstract casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean>;
  abstract deleteRecord(namespace: string, id: string, version?: string): Promise<boolean>;
  abstract listRecords(namespace: string, limit: number): Promise<ListedRecord[]>;
  abstract requeueFailed(ids: readonly string[], at: number): Promise<Requeued[]>;

  /**
   * Changes one record: `change` gets its value (null: absent) and returns the new one, null to
   * delete it, or undefined to leave it. Retried from a fresh read when another write came first.
   */
  private async update(namespace: string, id: string, change: (value: string | null) => string | null | undefined, ttlMs: number | null = null): Promise<void> {
    for (let i = 0; i < CAS_TRIES; i++) {
      const current = await this.getRecord(namespace, id);
      const next = change(current?.value ?? null);
      if (next === undefined) return;
      if (next === null ? !current || (await this.deleteRecord(namespace, id, current.version))
        : await this.casRecord(namespace, id, current?.version ?? null, next, ttlMs)) return;
    }
    throw new Error(`Record ${namespace}/${id} kept changing under ${CAS_TRIES} writes in a row`);
  }

  // Paused queues: a worker reads them before it claims (paused-queues.ts).

  async pauseQueue(queue: string): Promise<void> {
    await this.update('paused', 'queues', (text) => {
      const queues = parseList(text);
      return queues.includes(queue) ? undefined : JSON.stringify([...queues, queue].sort());
    });
  }

  async resumeQueue(queue: string): Promise<boolean> {
    let was = false;
    await this.update('paused', 'queues', (text) => {
      const queues = parseList(text);
      was = queues.includes(queue);
      return was ? JSON.stringify(queues.filter((q) => q !== queue)) : undefined;
    });
    return was;
  }

  async pausedQueues(): Promise<string[]> {
    return parseList((await this.getRecord('paused', 'queues'))?.value ?? null);
  }

  // The restart signal (`rakit job:restart`, restart-watch.ts).

  async restartRequestedAt(): Promise<number | null> {
    const record = await this.getRecord('signal', 'restart');
    return record ? Number(record.value) : null;
  }

  async requestRestart(at: number): Promise<void> {
    await this.update('signal', 'restart', () => String(at));
  }

  // The worker registry (heartbeat.ts writes it, the Workers page reads it).

  async beat(beat: WorkerBeat): Promise<void> {
    await this.update('worker', beat.id, (text) => {
      const last = text === null ? null : (JSON.parse(text) as WorkerRecord);
      // A last beat racing the worker's stop record changes nothing; one taken for lost comes back.
      if (last?.stoppedAt != null && last.end !== 'lost') return undefined;
      return JSON.stringify({ ...beat, stoppedAt: null, end: null } satisfies WorkerRecord);
    });
  }

  async workerStopped(id: string, end: WorkerEnd, at: number): Promise<void> {
    await this.update('worker', id, (text) => JSON.stringify(stoppedRecord(text === null ? null : (JSON.parse(text) as WorkerRecord), id, end, at)));
    await this.listWorkers(at); // drops the stopped ones past those kept
  }

  async listWorkers(now: number): Promise<WorkerRecord[]> {
    const records = await this.listRecords('worker', LIST_ALL);
    const { workers, drop } = workerList(records.map((r) => JSON.parse(r.value) as WorkerRecord), now);
    const versions = new Map(records.map((r) => [r.id, r.version]));
    await Promise.all(drop.map((id) => this.deleteRecord('worker', id, versions.get(id))));
    return workers;
  }

  // Metrics (metrics-collector.ts writes them, the charts and /metrics read them).

  async addMetrics(samples: readonly MetricSample[], keepMs?: number): Promise<void> {
    const byMinute = new Map<number, MetricSample[]>();
    for (const sample of samples) byMinute.set(sample.minute, [...(byMinute.get(sample.minute) ?? []), sample]);
    await Promise.all([...byMinute].map(([minute, add]) => this.update('metrics', String(minute), (text) => {
      const kept = new Map<string, MetricSample>();
      for (const s of [...parseSamples(text), ...add]) {
        const key = `${s.queue}\0${s.name}`;
        let into = kept.get(key);
        if (!into) kept.set(key, (into = emptySample(minute, s.queue, s.name)));
        addInto(into, s);
      }
      return JSON.stringify(sortSamples([...kept.values()]));
    }, minute === TOTALS_MINUTE || keepMs === undefined ? null : Math.max(1_000, minute + keepMs - this.clock.now()))));
  }

  async readMetrics(from: number, to: number): Promise<MetricSample[]> {
    const first = Math.ceil(from / MINUTE_MS) * MINUTE_MS;
    const count = Math.max(0, Math.ceil((to - first) / MINUTE_MS));
    let texts: (string | null)[];
    if (count <= LIST_ALL / 10) {
      const minutes = Array.from({ length: count }, (_, i) => first + i * MINUTE_MS);
      texts = [];
      for (let i = 0; i < minutes.length; i += READ_WIDTH) {
        texts.push(...(await Promise.all(minutes.slice(i, i + READ_WIDTH).map(async (m) => (await this.getRecord('metrics', String(m)))?.value ?? null))));
      }
    } else {
      texts = (await this.listRecords('metrics', LIST_ALL)).filter((r) => Number(r.id) >= from && Number(r.id) < to).map((r) => r.value);
    }
    return sortSamples(texts.flatMap(parseSamples));
  }

  async pruneMetrics(before: number): Promise<number> {
    const old = (await this.listRecords('metrics', LIST_ALL)).filter((r) => Number(r.id) !== TOTALS_MINUTE && Number(r.id) < before);
    const dropped = await Promise.all(old.map((r) => this.deleteRecord('metrics', r.id, r.version)));
    return old.reduce((n, r, i) => n + (dropped[i] ? parseSamples(r.value).length : 0), 0);
  }

  // `job:retry`: one policy for every store, over the browser's atomic `requeueFailed`.

  /** Each failed job is put back as a new job due now, unless a pending or running job holds its overlap key. */
  async retryFailed(ids: readonly string[]): Promise<RetryResult> {
    const result: RetryResult = { retried: [], missing: [], overlapping: [] };
    const valid = (id: string) => id.length > 0 && id.length <= 191;
    const known = ids.filter(valid);
    result.missing.push(...ids.filter((id) => !valid(id)));
    for (let i = 0; i < known.length; i += PAGE_MAX) {
      const chunk = known.slice(i, i + PAGE_MAX);
      (await this.requeueFailed(chunk, this.clock.now())).forEach((outcome, k) => {
        if (typeof outcome === 'object') result.retried.push({ failedId: chunk[k]!, jobId: outcome.jobId });
        else result[outcome].push(chunk[k]!);
      });
    }
    return result;
  }
}

function parseList(text: string | null): string[] {
  return text === null ? [] : (JSON.parse(text) as string[]);
}

function parseSamples(text: string | null): MetricSample[] {
  return text === null ? [] : (JSON.parse(text) as MetricSample[]);
}

/** Sorted by minute, then queue, then name. */
function sortSamples(samples: MetricSample[]): MetricSample[] {
  return samples.sort((a, b) => a.minute - b.minute || (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The record of a worker that stopped; from its id (`host:pid:startedAt`) when it never beat. */
function stoppedRecord(last: WorkerRecord | null, id: string, end: WorkerEnd, at: number): WorkerRecord {
  if (last) return { ...last, stoppedAt: at, end };
  const parts = id.split(':');
  const startedAt = Number(parts.at(-1)) || at;
  return {
    id, host: parts.slice(0, -2).join(':') || id, pid: Number(parts.at(-2)) || 0, queues: null, running: [],
    startedAt, beatAt: startedAt, done: 0, failed: 0, stoppedAt: at, end,
  };
}

/**
 * Liveness and retention, the one place they are decided: live workers first (newest start
 * first), then the newest STOPPED_KEPT stopped ones, a live one whose beats stopped coming
 * (LIVE_WITHIN_MS) marked `lost` as of its last beat. `drop` names the records past those kept.
 */
function workerList(records: readonly WorkerRecord[], now: number): { workers: WorkerRecord[]; drop: string[] } {
  const live: WorkerRecord[] = [];
  const stopped: WorkerRecord[] = [];
  for (const record of records) {
    if (record.stoppedAt !== null) stopped.push(record);
    else if (now - record.beatAt > LIVE_WITHIN_MS) stopped.push({ ...record, stoppedAt: record.beatAt, end: 'lost' }); // running: what it had at its end
    else live.push(record);
  }
  live.sort((a, b) => b.startedAt - a.startedAt || a.id.localeCompare(b.id));
  stopped.sort((a, b) => b.stoppedAt! - a.stoppedAt! || a.id.localeCompare(b.id));
  return { workers: [...live, ...stopped.slice(0, STOPPED_KEPT)], drop: stopped.slice(STOPPED_KEPT).map((w) => w.id) };
}
