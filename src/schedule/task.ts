/**
 * One scheduled task as `application/schedule.ts` declares it: what runs (a job, a rakit command
 * or a function), when (a cron expression, built by Laravel's frequency helpers or given), under
 * which constraints, and how (queue, overlap, one server, catch-up, hooks, output files).
 * Nothing here runs anything: the runner (runner.ts) reads these fields.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../infra/errors.ts';
import type { JobClass } from '../api/job-types.ts';
import type { Payload } from '../api/payload.ts';

export type TaskAction =
  | { kind: 'job'; job: JobClass | string; payload: Payload }
  | { kind: 'command'; command: string }
  | { kind: 'call'; fn: () => unknown };

export type Condition = boolean | (() => boolean | Promise<boolean>);
export type Hook = (task: ScheduledTask) => unknown;
/** A time of day, 'HH:mm'. */
export type TimeOfDay = string;

/** Seconds a run lock outlives a run that stopped renewing it (killed); the run renews it every third of this. */
export const DEFAULT_LOCK_SECONDS = 90;

export class ScheduledTask {
  /** The cron expression: 5 fields, or 6 with seconds first. */
  expression = '* * * * *';
  /** IANA zone of the expression; null: the config's `timezone`. */
  zone: string | null = null;
  queue: string | null = null;
  /** Seconds the run lock lasts without renewal; null: runs may overlap. */
  overlapSeconds: number | null = null;
  oneServer = false;
  catchUpMissed = false;
  envs: string[] | null = null;
  readonly conditions: { when: Condition[]; skip: Condition[] } = { when: [], skip: [] };
  /** Ranges of local time ('HH:mm') the task runs inside (true) or outside (false). */
  readonly ranges: { start: TimeOfDay; end: TimeOfDay; inside: boolean }[] = [];
  readonly hooks: { before: Hook[]; after: Hook[]; success: Hook[]; failure: Hook[] } = { before: [], after: [], success: [], failure: [] };
  output: { file: string; append: boolean } | null = null;
  private given: string | null = null;
  /** Set by Schedule.tasks() when tasks of one job or command share a name: see `deriveName`. */
  private derived: string | null = null;

  constructor(readonly action: TaskAction) {}

  /** The task's name: given by `.name()`, else the job's name or the command (with a derived mark when several share it). */
  get taskName(): string {
    if (this.given) return this.given;
    if (this.derived) return this.derived;
    return this.baseName;
  }

  /** Whether `.name()` named it. */
  get named(): boolean {
    return this.given !== null;
  }

  /**
   * A name that tells this task apart from others of the same job or command, at `level`: 1, its
   * payload and queue (`report {"team":"ops"}`); 2, its times too (`report {"team":"ops"} (0 8 * * *)`);
   * 3, or when longer than a name may be, 8 hex digits of all that (`report #753e7948`). Stable
   * while those stay the same, so its locks and run history carry over from deploy to deploy.
   */
  derivedName(level: 1 | 2 | 3): string {
    const what = this.action.kind === 'job' ? `${JSON.stringify(this.action.payload)}${this.queue ? ` on ${this.queue}` : ''}` : '';
    const when = `(${this.expression}${this.zone ? ` ${this.zone}` : ''})`;
    const name = level === 1 ? `${this.baseName} ${what}` : `${this.baseName} ${what ? `${what} ` : ''}${when}`;
    if (level < 3 && name.length <= 191) return name;
    return `${this.baseName.slice(0, 180)} #${createHash('sha1').update(JSON.stringify([this.baseName, what, when])).digest('hex').slice(0, 8)}`;
  }

  /** Called by Schedule.tasks(): this task goes by `name` (one of derivedName's). */
  useDerivedName(name: string): void {
    this.derived = name;
  }

  private get baseName(): string {
    if (this.action.kind === 'command') return this.action.command;
    if (this.action.kind === 'job') return typeof this.action.job === 'string' ? this.action.job : this.action.job.nameOfJob;
    throw new UsageError('A Schedule.call() task needs a name: Schedule.call(fn).name(\'refresh-rates\')');
  }

  name(name: string): this {
    if (typeof name !== 'string' || !/^\S.{0,190}$/.test(name)) throw new UsageError(`Bad task name ${JSON.stringify(name)}: give 1-191 characters`);
    this.given = name;
    return this;
  }

  description(name: string): this {
    return this.name(name);
  }

  // ---- frequency ----

  /** A cron expression: `minute hour day-of-month month day-of-week`, or with seconds first. */
  cron(expression: string): this {
    const fields = expression.trim().split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) throw new UsageError(`Bad cron expression "${expression}": give 5 fields (or 6 with seconds first)`);
    this.expression = fields.join(' ');
    return this;
  }

  everyMinute(): this { return this.splice(0, '*'); }
  everyTwoMinutes(): this { return this.splice(0, '*/2'); }
  everyThreeMinutes(): this { return this.splice(0, '*/3'); }
  everyFourMinutes(): this { return this.splice(0, '*/4'); }
  everyFiveMinutes(): this { return this.splice(0, '*/5'); }
  everyTenMinutes(): this { return this.splice(0, '*/10'); }
  everyFifteenMinutes(): this { return this.splice(0, '*/15'); }
  everyThirtyMinutes(): this { return this.splice(0, '0,30'); }
  hourly(): this { return this.splice(0, '0'); }
  /** At these minutes past every hour. */
  hourlyAt(...minutes: number[]): this { return this.splice(0, minutes.join(',')); }
  everyTwoHours(minute = 0): this { return this.splice(0, String(minute)).splice(1, '*/2'); }
  everyThreeHours(minute = 0): this { return this.splice(0, String(minute)).splice(1, '*/3'); }
  everyFourHours(minute = 0): this { return this.splice(0, String(minute)).splice(1, '*/4'); }
  everySixHours(minute = 0): this { return this.splice(0, String(minute)).splice(1, '*/6'); }
  daily(): this { return this.dailyAt('00:00'); }
  /** Every day at 'HH:mm'. */
  dailyAt(time: TimeOfDay): this {
    const [hour, minute] = parseTime(time);
    return this.splice(0, String(minute)).splice(1, String(hour));
  }
  /** Every day at two hours (default 1 and 13), at `minute`. */
  twiceDaily(first = 1, second = 13, minute = 0): this { return this.splice(0, String(minute)).splice(1, `${first},${second}`); }
  weekly(): this { return this.weeklyOn(0); }
  /** Every week on `day` (0 = Sunday … 6, or several) at 'HH:mm'. */
  weeklyOn(day: number | number[], time: TimeOfDay = '00:00'): this {
    return this.dailyAt(time).splice(4, [day].flat().join(','));
  }
  monthly(): this { return this.monthlyOn(1); }
  /** Every month on day `day` at 'HH:mm'. */
  monthlyOn(day = 1, time: TimeOfDay = '00:00'): this { return this.dailyAt(time).splice(2, String(day)); }
  twiceMonthly(first = 1, second = 16, time: TimeOfDay = '00:00'): this { return this.dailyAt(time).splice(2, `${first},${second}`); }
  /** The last day of every month at 'HH:mm'. */
  lastDayOfMonth(time: TimeOfDay = '00:00'): this { return this.dailyAt(time).splice(2, 'L'); }
  quarterly(): this { return this.dailyAt('00:00').splice(2, '1').splice(3, '1-12/3'); }
  yearly(): this { return this.dailyAt('00:00').splice(2, '1').splice(3, '1'); }
  yearlyOn(month = 1, day = 1, time: TimeOfDay = '00:00'): this { return this.dailyAt(time).splice(2, String(day)).splice(3, String(month)); }

  // ---- constraints ----

  weekdays(): this { return this.splice(4, '1-5'); }
  weekends(): this { return this.splice(4, '6,0'); }
  mondays(): this { return this.splice(4, '1'); }
  tuesdays(): this { return this.splice(4, '2'); }
  wednesdays(): this { return this.splice(4, '3'); }
  thursdays(): this { return this.splice(4, '4'); }
  fridays(): this { return this.splice(4, '5'); }
  saturdays(): this { return this.splice(4, '6'); }
  sundays(): this { return this.splice(4, '0'); }
  /** Only on these days of the week (0 = Sunday … 6). */
  days(...days: (number | number[])[]): this { return this.splice(4, days.flat().join(',')); }
  /** Only between two local times 'HH:mm' (a range may pass midnight: '22:00', '06:00'). */
  between(start: TimeOfDay, end: TimeOfDay): this {
    this.ranges.push({ start: hhmm(start), end: hhmm(end), inside: true });
    return this;
  }
  unlessBetween(start: TimeOfDay, end: TimeOfDay): this {
    this.ranges.push({ start: hhmm(start), end: hhmm(end), inside: false });
    return this;
  }
  /** Runs only when `condition` holds at the tick. */
  when(condition: Condition): this {
    this.conditions.when.push(condition);
    return this;
  }
  /** Skips the tick when `condition` holds. */
  skip(condition: Condition): this {
    this.conditions.skip.push(condition);
    return this;
  }
  /** Only in these environments (APP_ENV, else NODE_ENV, else 'production'). */
  environments(...envs: (string | string[])[]): this {
    this.envs = envs.flat();
    return this;
  }
  timezone(zone: string): this {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
    } catch {
      throw new UsageError(`Unknown timezone "${zone}": use an IANA name such as "Asia/Jakarta" or "UTC"`);
    }
    this.zone = zone;
    return this;
  }

  // ---- how it runs ----

  /** The queue a job task's job goes to. */
  onQueue(queue: string): this {
    this.queue = queue;
    return this;
  }
  /**
   * Skips a tick while the previous run is still going. Commands and calls hold a run lock,
   * renewed while they run, that lapses `seconds` after a run that died; a job task dispatches
   * with the queue's own withoutOverlapping (skipped while its job is pending or running).
   */
  withoutOverlapping(seconds = DEFAULT_LOCK_SECONDS): this {
    if (!Number.isFinite(seconds) || seconds < 1) throw new UsageError('withoutOverlapping(seconds): give seconds ≥ 1');
    this.overlapSeconds = seconds;
    return this;
  }
  /** Of all hosts sharing the store, one runs each tick. */
  onOneServer(): this {
    this.oneServer = true;
    return this;
  }
  /** A tick that was missed (no scheduler ran that minute) runs once, late, at the next run. */
  catchUp(): this {
    this.catchUpMissed = true;
    return this;
  }
  before(hook: Hook): this { this.hooks.before.push(hook); return this; }
  after(hook: Hook): this { this.hooks.after.push(hook); return this; }
  onSuccess(hook: Hook): this { this.hooks.success.push(hook); return this; }
  onFailure(hook: Hook): this { this.hooks.failure.push(hook); return this; }
  /** Writes a command's output to `file` (replacing it each run). */
  sendOutputTo(file: string): this { return this.outputTo(file, false); }
  /** Appends a command's output to `file`. */
  appendOutputTo(file: string): this { return this.outputTo(file, true); }

  private outputTo(file: string, append: boolean): this {
    if (this.action.kind !== 'command') throw new UsageError('sendOutputTo/appendOutputTo are for Schedule.command() tasks');
    this.output = { file, append };
    return this;
  }

  /** Sets field `index` (0 = minute … 4 = day of week) of the 5-field expression. */
  private splice(index: number, value: string): this {
    const fields = this.expression.split(' ');
    const offset = fields.length === 6 ? 1 : 0;
    fields[index + offset] = value;
    this.expression = fields.join(' ');
    return this;
  }
}

/** 'H:mm' or 'HH:mm' as 'HH:mm', which compares as the clock reads. */
const hhmm = (time: TimeOfDay) => parseTime(time).map((n) => String(n).padStart(2, '0')).join(':');

/** [hour, minute] of 'HH:mm'. */
export function parseTime(time: TimeOfDay): [number, number] {
  const match = /^(\d{1,2}):(\d{2})$/.exec(String(time));
  const [hour, minute] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59)) throw new UsageError(`Bad time "${time}": give 'HH:mm', e.g. '02:00'`);
  return [hour, minute];
}
