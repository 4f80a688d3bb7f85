/**
 * The schedule store on the database driver's server (SQLite, MySQL/MariaDB, PostgreSQL) through
 * knex. A claim is an insert that the (task, tick) primary key lets one host make; a lock is a
 * row taken by insert, or by an update that matches only while it has lapsed (one statement, so
 * the server lets one racer change it); renew and release match the owner's token.
 */
import type { Knex } from 'knex';
import type { Clock } from '../../infra/clock.ts';
import { describeConnection, sqlErrorCode } from '../../drivers/database/database-connection.ts';
import { DUPLICATE, missingTable, runSql } from '../../drivers/database/database-sql.ts';
import { ConnectionError, UsageError } from '../../infra/errors.ts';
import { scheduleTables } from '../migration.ts';
import { clearLocksVia, type LockInfo, type RunRecord, type ScheduleStore } from '../store.ts';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ER_ACCESS_DENIED_ERROR', '28P01', '3D000']);

interface LockRow { name: string; owner: string; acquired_at: number | string; expires_at: number | string }
interface RunRow {
  id: string; task: string; tick: number | string; started_at: number | string; finished_at: number | string | null;
  outcome: RunRecord['outcome']; duration_ms: number | null; output: string; host: string;
}

export class DatabaseScheduleStore implements ScheduleStore {
  readonly description: string;
  private readonly t: ReturnType<typeof scheduleTables>;
  private swept = false;

  constructor(private readonly knex: Knex, table: string, private readonly clock: Clock) {
    this.t = scheduleTables(table);
    this.description = `database (${describeConnection(knex.client.config)})`;
  }

  async claim(task: string, tick: number, owner: string, keepMs: number): Promise<boolean> {
    const now = this.clock.now();
    if (!this.swept) {
      this.swept = true;
      await this.run(() => this.knex(this.t.claims).where('claimed_at', '<', now - keepMs).del());
    }
    return this.insert(this.t.claims, { task, tick, owner, claimed_at: now });
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const row = { name, owner, acquired_at: now, expires_at: now + ttlMs };
    for (let i = 0; i < 3; i++) {
      if (await this.insert(this.t.locks, row)) return true;
      // Held: take it only if it has lapsed; one statement, so one racer's update matches.
      const taken = await this.run(() => this.knex(this.t.locks).where({ name }).andWhere('expires_at', '<=', now).update(row));
      if (taken === 1) return true;
      const held = await this.run(() => this.knex(this.t.locks).where({ name }).first('name'));
      if (held) return false; // not lapsed; or released between the two statements, then try again
    }
    return false;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const n = await this.run(() => this.knex(this.t.locks).where({ name, owner }).update({ expires_at: this.clock.now() + ttlMs }));
    return n === 1;
  }

  async release(name: string, owner: string): Promise<boolean> {
    return (await this.run(() => this.knex(this.t.locks).where({ name, owner }).del())) === 1;
  }

  async locks(): Promise<LockInfo[]> {
    const rows = await this.run(() => this.knex<LockRow>(this.t.locks).select('*').orderBy('name'));
    return rows.map((r) => ({ name: r.name, owner: r.owner, acquiredAt: Number(r.acquired_at), expiresAt: Number(r.expires_at) }));
  }

  clearLocks(names?: string[]): Promise<LockInfo[]> {
    return clearLocksVia(this, names);
  }

  async saveRun(run: RunRecord, keep: number): Promise<void> {
    const row = {
      id: run.id, task: run.task, tick: run.tick, started_at: run.startedAt, finished_at: run.finishedAt,
      outcome: run.outcome, duration_ms: run.durationMs, output: run.output, host: run.host,
    };
    const updated = await this.run(() => this.knex(this.t.runs).where({ id: run.id }).update(row));
    if (updated === 1) return;
    await this.run(() => this.knex(this.t.runs).insert(row));
    const old = await this.run(() => this.knex<RunRow>(this.t.runs).where({ task: run.task }).orderBy('started_at', 'desc').offset(keep).limit(1000).pluck('id'));
    if (old.length > 0) await this.run(() => this.knex(this.t.runs).whereIn('id', old).del());
  }

  async runs(task: string, limit: number): Promise<RunRecord[]> {
    const rows = await this.run(() => this.knex<RunRow>(this.t.runs).where({ task }).orderBy('started_at', 'desc').limit(limit).select('*'));
    return rows.map((r) => ({
      id: r.id, task: r.task, tick: Number(r.tick), startedAt: Number(r.started_at), finishedAt: r.finished_at === null ? null : Number(r.finished_at),
      outcome: r.outcome, durationMs: r.duration_ms === null ? null : Number(r.duration_ms), output: r.output, host: r.host,
    }));
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }

  /** Inserts `row`; false when its key is taken. */
  private async insert(table: string, row: Record<string, unknown>): Promise<boolean> {
    try {
      await this.run(() => this.knex(table).insert(row));
      return true;
    } catch (error) {
      if (DUPLICATE.has(sqlErrorCode(error))) return false;
      throw error;
    }
  }

  /** Runs a statement as the queue driver does; a missing table or an unreachable server gets advice. */
  private run<T>(work: () => Promise<T>): Promise<T> {
    return runSql(work, (error) => {
      if (missingTable(error)) {
        return new UsageError(`The scheduler's tables (${this.t.claims}, ${this.t.locks}, ${this.t.runs}) are missing: run \`rakit schedule:table && rakit migrate\``, { cause: error });
      }
      if (!UNREACHABLE.has(sqlErrorCode(error))) return null;
      return new ConnectionError(`Cannot reach the database at ${describeConnection(this.knex.client.config)}: ${(error as Error).message ?? ''} — start the server or fix DATABASE_URL / application/config/job.ts`, { cause: error });
    });
  }
}
