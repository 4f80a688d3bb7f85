/**
 * Runs the tasks due in a minute: decides each task's ticks (timing.ts), checks its
 * constraints, takes the (task, tick) claim for `onOneServer()` tasks and the run lock for
 * `withoutOverlapping()` ones (renewed while the run lives, released by it alone), runs the
 * hooks around the action, and records each run's start and end in the store.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../infra/clock.ts';
import { coerceError } from '../infra/errors.ts';
import { execute, tail, type Execution } from './execute.ts';
import { overlapLock, type RunRecord, type ScheduleStore } from './store.ts';
import type { Hook, ScheduledTask } from './task.ts';
import { localTime, previousTick, ticksIn } from './timing.ts';

/**
 * Whether any of `tasks` may run in the minute of `at`: one with a tick in it, or one that catches
 * up missed ticks (the store knows). When none may, nothing needs the store.
 */
export function mayRunIn(tasks: readonly ScheduledTask[], timezone: string, at: number): boolean {
  const minute = Math.floor(at / 60_000) * 60_000;
  return tasks.some((task) => task.catchUpMissed || ticksIn(task.expression, task.zone ?? timezone, minute).length > 0);
}

export interface RunnerOptions {
  store: ScheduleStore;
  clock: Clock;
  /** The config's `timezone`: the zone of tasks that do not name one. */
  timezone: string;
  /** The app's folder (commands run there). */
  root: string;
  /** The environment `environments()` compares with. */
  env?: string;
  /** Each line worth telling the user (a run started, ended, was skipped). */
  report?: (line: string) => void;
  /** Runs the action (tests replace it); default execute.ts. */
  execute?: (task: ScheduledTask) => Promise<Execution>;
}

export class ScheduleRunner {
  private readonly host = `${os.hostname()}:${process.pid}`;
  private readonly env: string;
  private readonly report: (line: string) => void;
  private readonly run: (task: ScheduledTask) => Promise<Execution>;

  constructor(private readonly tasks: ScheduledTask[], private readonly options: RunnerOptions) {
    this.env = options.env ?? process.env.APP_ENV ?? process.env.NODE_ENV ?? 'production';
    this.report = options.report ?? (() => undefined);
    this.run = options.execute ?? ((task) => execute(task, options.root));
  }

  /** A task's zone, the config's when it names none (as `mayRunIn` decides it). */
  zoneOf(task: ScheduledTask): string {
    return task.zone ?? this.options.timezone;
  }

  /** Runs every task due in the minute of `at` (default now), side by side; their records. */
  async runMinute(at = this.options.clock.now()): Promise<RunRecord[]> {
    const minute = Math.floor(at / 60_000) * 60_000;
    const runs = await Promise.all(this.tasks.map(async (task) => {
      const records: RunRecord[] = [];
      for (const tick of await this.ticksFor(task, minute)) {
        if (!(await this.passes(task, tick))) continue;
        const wait = tick - this.options.clock.now();
        if (wait > 0) await this.options.clock.sleep(wait); // a 6-field task's later seconds
        const record = await this.runTick(task, tick, true);
        if (record) records.push(record);
      }
      return records;
    }));
    return runs.flat();
  }

  /** Runs `task` now, whatever its schedule and constraints (`schedule:test`); locks still apply. */
  async runNow(task: ScheduledTask): Promise<RunRecord | null> {
    return this.runTick(task, Math.floor(this.options.clock.now() / 60_000) * 60_000, false);
  }

  /**
   * The ticks of `task` to run in `minute`: its ticks in that minute, or, when there are none
   * and it catches up, its latest tick before it if no run was recorded for that tick (or after).
   */
  private async ticksFor(task: ScheduledTask, minute: number): Promise<number[]> {
    const zone = this.zoneOf(task);
    const ticks = ticksIn(task.expression, zone, minute);
    if (ticks.length > 0 || !task.catchUpMissed) return ticks;
    const [last] = await this.options.store.runs(task.taskName, 1);
    const missed = previousTick(task.expression, zone, minute);
    return last && missed !== null && missed > last.tick ? [missed] : [];
  }

  private async passes(task: ScheduledTask, tick: number): Promise<boolean> {
    if (task.envs && !task.envs.includes(this.env)) return false;
    const hhmm = localTime(tick, this.zoneOf(task)).slice(11, 16);
    for (const range of task.ranges) {
      const within = range.start <= range.end ? hhmm >= range.start && hhmm <= range.end : hhmm >= range.start || hhmm <= range.end;
      if (within !== range.inside) return false;
    }
    const holds = async (c: boolean | (() => boolean | Promise<boolean>)) => (typeof c === 'function' ? await c() : c);
    for (const c of task.conditions.when) if (!(await holds(c))) return false;
    for (const c of task.conditions.skip) if (await holds(c)) return false;
    return true;
  }

  private async runTick(task: ScheduledTask, tick: number, claim: boolean): Promise<RunRecord | null> {
    const { store, clock } = this.options;
    const name = task.taskName;
    const id = randomUUID();
    if (claim && task.oneServer && !(await store.claim(name, tick, id))) {
      this.report(`${name}: skipped, another server runs this tick`);
      return null;
    }
    const record: RunRecord = { id, task: name, tick, startedAt: clock.now(), finishedAt: null, outcome: 'running', durationMs: null, output: '', host: this.host };
    const locked = task.overlapSeconds !== null && task.action.kind !== 'job';
    const ttl = (task.overlapSeconds ?? 0) * 1000;
    if (locked && !(await store.acquire(overlapLock(name), id, ttl))) {
      return this.finish({ ...record, outcome: 'skipped', output: 'the previous run is still running' });
    }
    let result: Execution;
    let renewing: ReturnType<typeof setInterval> | null = null;
    // Renewals run one after another, and the release waits for the last: a renewal still on its
    // way when the task ends would otherwise find the lock's version changed by the release's
    // turn, or write it back after it, and it would stay held until its TTL.
    let renewal: Promise<void> = Promise.resolve();
    try {
      await store.saveRun(record);
      this.report(`${name}: running`);
      if (locked) renewing = setInterval(() => (renewal = renewal.then(() => this.renew(name, id, ttl))), Math.max(200, ttl / 3));
      await this.hooks(task, task.hooks.before);
      result = await this.run(task).catch((error: unknown) => ({ outcome: 'failure' as const, output: tail(coerceError(error).message) }));
      await this.hooks(task, task.hooks.after);
      await this.hooks(task, result.outcome === 'failure' ? task.hooks.failure : task.hooks.success);
    } catch (error) {
      result = { outcome: 'failure', output: tail(coerceError(error).message) }; // the store failed to record the start
    } finally {
      if (renewing) clearInterval(renewing);
      await renewal;
    }
    // Released by this run only: a lock taken over after it lapsed stays with its new owner. A
    // release that fails leaves the lock to its TTL and still records how the run ended.
    if (locked) {
      await store.release(overlapLock(name), id).catch((error: unknown) =>
        this.report(`${name}: warning, its run lock could not be released (it lapses in ${ttl / 1000} s): ${coerceError(error).message}`));
    }
    return this.finish({ ...record, ...result });
  }

  private async finish(record: RunRecord): Promise<RunRecord> {
    const now = this.options.clock.now();
    const done = { ...record, finishedAt: now, durationMs: now - record.startedAt };
    await this.options.store.saveRun(done);
    const took = `${(done.durationMs / 1000).toFixed(2)} s`;
    const lastLine = done.output.trim().split('\n').slice(-1)[0] ?? '';
    this.report(`${done.task}: ${done.outcome}${done.outcome === 'skipped' ? '' : ` in ${took}`}${lastLine ? ` — ${lastLine}` : ''}`);
    return done;
  }

  private async renew(name: string, owner: string, ttl: number): Promise<void> {
    const kept = await this.options.store.renew(overlapLock(name), owner, ttl).catch(() => false);
    if (!kept) this.report(`${name}: warning, its run lock could not be renewed (lapsed or cleared)`);
  }

  /** Runs hooks in order; a hook's error goes to the report and stops no other hook. */
  private async hooks(task: ScheduledTask, hooks: Hook[]): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook(task);
      } catch (error) {
        this.report(`${task.taskName}: a hook failed: ${coerceError(error).message}`);
      }
    }
  }
}
