/**
 * The `database` driver's worker registry (`<table>_workers`, one row per worker process): each
 * beat replaces the row of its worker, a stop marks it, and only the newest STOPPED_KEPT stopped
 * ones are kept. A worker whose beats stopped coming is marked lost when the list is read, and
 * is live again if it beats again.
 */
import type { Knex } from 'knex';
import { LIVE_WITHIN_MS, STOPPED_KEPT, type WorkerBeat, type WorkerEnd, type WorkerRecord, type WorkerRegistry } from '../../store/admin-store.ts';
import type { SqlStore } from './database-sql.ts';

interface WorkerRow {
  id: string;
  host: string;
  pid: number | string;
  queues: string | null;
  running: string;
  started_at: number | string;
  beat_at: number | string;
  done: number | string;
  failed: number | string;
  stopped_at: number | string | null;
  end: string | null;
}

export class DatabaseWorkers implements WorkerRegistry {
  constructor(private readonly store: SqlStore) {}

  private get table(): string {
    return `${this.store.names.table}_workers`;
  }

  private get workers() {
    return this.store.knex(this.table);
  }

  async beat(beat: WorkerBeat): Promise<void> {
    const row = {
      id: beat.id, host: beat.host, pid: beat.pid,
      queues: beat.queues === null ? null : JSON.stringify(beat.queues), running: JSON.stringify(beat.running),
      started_at: beat.startedAt, beat_at: beat.beatAt, done: beat.done, failed: beat.failed,
    };
    await this.store.run(() => this.workers.insert(row).onConflict('id').merge({ ...this.replacing(Object.keys(row)), ...this.liveAgain() }));
  }

  /** The stored columns set to the beat's. */
  private replacing(columns: string[]): Record<string, Knex.Raw> {
    const { knex, dialect } = this.store;
    return Object.fromEntries(columns.filter((column) => column !== 'id').map((column) =>
      [column, dialect === 'mysql' ? knex.raw('VALUES(??)', [column]) : knex.raw('excluded.??', [column])]));
  }

  /**
   * A worker taken for lost that beats again is live again; one that said it stopped stays
   * stopped (a beat sent as it stopped may land after its stop). `stopped_at` comes first: MySQL
   * sets the columns in order, each seeing those set before it.
   */
  private liveAgain(): Record<string, Knex.Raw> {
    const { knex } = this.store;
    const stored = (column: string) => knex.raw("CASE WHEN ??.?? = 'lost' THEN NULL ELSE ??.?? END", [this.table, 'end', this.table, column]);
    return { stopped_at: stored('stopped_at'), end: stored('end') };
  }

  async workerStopped(id: string, end: WorkerEnd, at: number): Promise<void> {
    await this.store.run(() => this.workers.where('id', id).update({ stopped_at: at, end }));
    await this.pruneStopped();
  }

  async listWorkers(now: number): Promise<WorkerRecord[]> {
    const { knex } = this.store;
    // Lost as of `now`: stopped when its last beat's time to live ran out. Looked for first, so
    // that a list finding none writes nothing (on SQLite, a write waits for the workers' writes).
    const lost = () => this.workers.whereNull('stopped_at').where('beat_at', '<', now - LIVE_WITHIN_MS);
    if (await this.store.run(() => lost().first('id'))) {
      await this.store.run(() => lost().update({ stopped_at: knex.raw('?? + ?', ['beat_at', LIVE_WITHIN_MS]), end: 'lost' }));
      await this.pruneStopped();
    }
    return this.store.run(async () => {
      const live = (await this.workers.whereNull('stopped_at').select('*')
        .orderBy([{ column: 'started_at', order: 'desc' }, { column: 'id' }])) as WorkerRow[];
      const stopped = (await this.workers.whereNotNull('stopped_at').select('*')
        .orderBy([{ column: 'stopped_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(STOPPED_KEPT)) as WorkerRow[];
      return [...live, ...stopped].map(toRecord);
    });
  }

  /** Deletes the stopped workers beyond the newest STOPPED_KEPT (newest by stop time, then id). */
  private async pruneStopped(): Promise<void> {
    await this.store.run(async () => {
      const first = (await this.workers.whereNotNull('stopped_at').select('stopped_at', 'id')
        .orderBy([{ column: 'stopped_at', order: 'desc' }, { column: 'id', order: 'desc' }])
        .offset(STOPPED_KEPT).limit(1).first()) as { stopped_at: number | string; id: string } | undefined;
      if (!first) return;
      await this.workers.whereNotNull('stopped_at').andWhere((w) => w.where('stopped_at', '<', first.stopped_at)
        .orWhere((same) => same.where('stopped_at', first.stopped_at).andWhere('id', '<=', first.id))).delete();
    });
  }
}

function toRecord(row: WorkerRow): WorkerRecord {
  return {
    id: row.id, host: row.host, pid: Number(row.pid),
    queues: row.queues === null ? null : (JSON.parse(row.queues) as string[]),
    running: JSON.parse(row.running) as WorkerRecord['running'],
    startedAt: Number(row.started_at), beatAt: Number(row.beat_at), done: Number(row.done), failed: Number(row.failed),
    stoppedAt: row.stopped_at === null ? null : Number(row.stopped_at), end: (row.end as WorkerEnd | null) ?? null,
  };
}
