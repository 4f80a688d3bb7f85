/**
 * The scheduler: recurring tasks declared in `application/schedule.ts` and started by one
 * crontab line (`rakit schedule:run` each minute) or by `rakit schedule:work`.
 *
 * - schedule.ts   the `Schedule` facade the app declares tasks with; task.ts one task's builder
 * - timing.ts     when ticks fall, by croner, in each task's timezone
 * - runner.ts     runs a minute's due tasks: constraints, claims, run locks, hooks, records
 * - execute.ts    what a run does: dispatch a job, run a rakit command, call a function
 * - store.ts      the ScheduleStore capability every driver implements (stores/ one per driver):
 *                 an atomic claim of (task, tick), run locks owned by their run, run history
 * - migration.ts  the tables of the database store, written by `rakit schedule:table`
 * - load.ts       loads the app's schedule file and opens store and runner for the commands
 */
export { Schedule } from './schedule.ts';
export { type ScheduledTask, type TaskAction, type Hook, type Condition } from './task.ts';
export type { ScheduleStore, LockInfo, RunRecord, RunOutcome } from './store.ts';
