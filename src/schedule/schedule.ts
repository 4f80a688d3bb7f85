/**
 * The `Schedule` facade `application/schedule.ts` declares its tasks with. The tasks live on
 * `globalThis`, so the app's `import { Schedule } from 'rakit'` and the scheduler's commands see
 * one list even when they loaded rakit from different files (the built package and its sources).
 */
import { UsageError } from '../infra/errors.ts';
import type { JobClass } from '../api/job-types.ts';
import type { Payload } from '../api/payload.ts';
import { ScheduledTask } from './task.ts';

const KEY = Symbol.for('rakit.schedule.tasks');
const holder = globalThis as unknown as Record<symbol, ScheduledTask[] | undefined>;
const list = (): ScheduledTask[] => (holder[KEY] ??= []);

const add = (task: ScheduledTask): ScheduledTask => {
  list().push(task);
  return task;
};

export const Schedule = {
  /** Dispatches job `job` (its class, or its name) with `payload` at each tick. */
  job(job: JobClass | string, payload: Payload = {}): ScheduledTask {
    if (typeof job !== 'string' && typeof (job as { nameOfJob?: unknown })?.nameOfJob !== 'string') {
      throw new UsageError('Schedule.job() takes a job class (extends Jobable) or a job name');
    }
    return add(new ScheduledTask({ kind: 'job', job, payload }));
  },
  /** Runs `rakit <command>` (e.g. 'job:flush --hours=168') as a child process at each tick. */
  command(command: string): ScheduledTask {
    if (typeof command !== 'string' || command.trim() === '') throw new UsageError('Schedule.command() takes a rakit command, e.g. \'job:flush --hours=168\'');
    return add(new ScheduledTask({ kind: 'command', command: command.trim() }));
  },
  /** Calls `fn` in the scheduler's process at each tick; name it with `.name()`. */
  call(fn: () => unknown): ScheduledTask {
    if (typeof fn !== 'function') throw new UsageError('Schedule.call() takes a function');
    return add(new ScheduledTask({ kind: 'call', fn }));
  },
  /**
   * Every task declared. Unnamed tasks of one job or command are told apart by a derived name
   * (ScheduledTask.derivedName); names still used twice (given twice, or the same job with the
   * same payload at the same times) are refused.
   */
  tasks(): ScheduledTask[] {
    const tasks = [...list()];
    const unnamed = new Map<string, ScheduledTask[]>();
    for (const task of tasks.filter((t) => !t.named)) unnamed.set(task.taskName, [...(unnamed.get(task.taskName) ?? []), task]);
    for (const group of unnamed.values()) {
      if (group.length < 2) continue;
      // The least detail that tells the group's tasks apart.
      const level = ([1, 2, 3] as const).find((l) => new Set(group.map((t) => t.derivedName(l))).size === group.length) ?? 3;
      for (const task of group) task.useDerivedName(task.derivedName(level));
    }
    const seen = new Set<string>();
    for (const task of tasks) {
      if (seen.has(task.taskName)) {
        throw new UsageError(`Two scheduled tasks are named "${task.taskName}"${task.named ? '' : ' (the same job or command with the same payload and queue at the same times)'}: give one of them .name('...'), or remove one`);
      }
      seen.add(task.taskName);
    }
    return tasks;
  },
  /** Forgets every task (tests, and apps that build their schedule again). */
  clear(): void {
    list().length = 0;
  },
};
