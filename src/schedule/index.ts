/**
 * The scheduler: recurring tasks declared in `application/schedule.ts` and started by one
 * crontab line (`rakit schedule:run` each minute) or by `rakit schedule:work`.
 *
 * - schedule.ts   the `Schedule` facade the app declares tasks with; task.ts one task's builder
 * - timing.ts     when ticks fall, by croner, in each task's timezone
 * - runner.ts     runs a minute's due tasks: constraints, claims, run locks, hooks, records
 * - execute.ts    what a run does: dispatch a job, run a rakit command, call a function
 * - store.ts      the scheduler's state over the queue store's records, the same on every driver:
 *                 an atomic claim of (task, tick), run locks owned by their run, run history
 * - upgrade.ts    the migration `rakit migrate` runs to move the tables of earlier versions into records
 * - load.ts       loads the app's schedule file and opens store and runner for the commands
 */
export { Schedule } from './schedule.ts';
export { type ScheduledTask, type TaskAction, type Hook, type Condition } from './task.ts';
export type { ScheduleStore, LockInfo, RunRecord, RunOutcome } from './store.ts';
