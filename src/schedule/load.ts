/**
 * Loads the app's `application/schedule.ts` (or .mts, .cts, .js, .mjs, .cjs) the way the app's other files load
 * (core/app-files.ts), and opens the schedule store (over the driver's records) and runner over its tasks.
 */
import path from 'node:path';
import { SOURCE_EXTENSION, appLanguage, findAppFile, importModule } from '../infra/app-files.ts';
import { DiscoveryError, coerceError } from '../infra/errors.ts';
import { runtime } from '../api/runtime.ts';
import { ScheduleRunner } from './runner.ts';
import { Schedule } from './schedule.ts';
import { ScheduleStore } from './store.ts';
import type { ScheduledTask } from './task.ts';
import { assertExpression } from './timing.ts';

/** The app's schedule file, without its extension (`.ts` … `.cjs`, as every app file). */
export const SCHEDULE_FILE = 'application/schedule';

/**
 * What to say when the app in `root` (configured by `configFile`) has no scheduled task: the
 * schedule file it has, or the one to create, named in the app's language as `rakit init` writes it.
 */
export function noTasksHint(root: string, configFile?: string): string {
  const file = findAppFile(root, SCHEDULE_FILE);
  if (file) return `No scheduled tasks: declare them in ${path.relative(root, file)}.`;
  return `No schedule file: create ${SCHEDULE_FILE}${SOURCE_EXTENSION[appLanguage(root, configFile)]} and declare the tasks in it (npx rakit init writes one with an example).`;
}

/** The tasks of the app in `root`, each expression and timezone checked; empty without a schedule file. */
export async function loadSchedule(root: string, timezone: string): Promise<ScheduledTask[]> {
  const file = findAppFile(root, SCHEDULE_FILE);
  Schedule.clear();
  if (file) {
    try {
      await importModule(file);
    } catch (error) {
      throw new DiscoveryError(`${path.relative(root, file)} failed to load: ${coerceError(error).message}`, { cause: error });
    }
  }
  const tasks = Schedule.tasks();
  for (const task of tasks) assertExpression(task.expression, task.zone ?? timezone);
  return tasks;
}

/**
 * Prints a line of schedule:run or schedule:work: on a terminal as it is; elsewhere (the cron
 * log, which the workers' JSON lines share, or supervisor's) after its time, ISO-8601 UTC as
 * those lines carry it, so every line of the log says when it was written.
 */
export function printLine(line: string): void {
  console.log(process.stdout.isTTY ? line : `${new Date().toISOString()} ${line}`);
}

/** The runtime, the app's tasks (`loaded`, or loaded now), and a runner over them, keeping its state in the driver's records. */
export async function openScheduler(report?: (line: string) => void, loaded?: ScheduledTask[]) {
  const rt = await runtime();
  const tasks = loaded ?? (await loadSchedule(rt.config.root, rt.config.timezone));
  const store = new ScheduleStore(rt.driver, rt.clock);
  const runner = new ScheduleRunner(tasks, { store, clock: rt.clock, timezone: rt.config.timezone, root: rt.config.root, report });
  return { rt, tasks, store, runner };
}
