/**
 * When a task's ticks fall, in its timezone: croner reads the cron expression and walks the
 * calendar; this file only asks it for the ticks inside a minute, the last tick before one and
 * the next tick after now, and formats local times. Daylight-saving changes follow croner's
 * rules (as Vixie cron): a fixed-time task (no wildcard or step in its second, minute and hour
 * fields, e.g. `30 2 * * *`) runs once when its local time occurs twice, and right after the
 * gap when its time does not exist that day; an interval task (`15 * * * *`) runs at each real
 * occurrence, so in the hour that repeats it runs twice and in the hour that is skipped not at
 * all. Every local time that exists once runs once.
 */
import { Cron } from 'croner';
import { UsageError } from '../infra/errors.ts';

const parsed = new Map<string, Cron>();

function cronOf(expression: string, zone: string): Cron {
  const key = `${zone} ${expression}`;
  let cron = parsed.get(key);
  if (!cron) {
    try {
      cron = new Cron(expression, { timezone: zone, paused: true, mode: '5-or-6-parts', fixedTimeRule: 'no-wildcard' });
    } catch (error) {
      throw new UsageError(`Bad cron expression "${expression}": ${(error as Error).message}`);
    }
    parsed.set(key, cron);
  }
  return cron;
}

/** Throws a UsageError when croner cannot read `expression`. */
export function assertExpression(expression: string, zone: string): void {
  cronOf(expression, zone);
}

/** The ticks (epoch ms) of `expression` in the minute that starts at `minute`. */
export function ticksIn(expression: string, zone: string, minute: number): number[] {
  const cron = cronOf(expression, zone);
  const ticks: number[] = [];
  let next = cron.nextRun(new Date(minute - 1));
  while (next && next.getTime() < minute + 60_000) {
    ticks.push(next.getTime());
    next = cron.nextRun(next);
  }
  return ticks;
}

/** The latest tick before `before`, or null. */
export function previousTick(expression: string, zone: string, before: number): number | null {
  const [previous] = cronOf(expression, zone).previousRuns(1, new Date(before - 1));
  return previous ? previous.getTime() : null;
}

/** The first tick after `after`, or null when there is none. */
export function nextTick(expression: string, zone: string, after: number): number | null {
  return cronOf(expression, zone).nextRun(new Date(after))?.getTime() ?? null;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** `YYYY-MM-DD HH:mm:ss` of `ms` in `zone`: sorts as the local clock reads. */
export function localTime(ms: number, zone: string): string {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formats.set(zone, format);
  }
  return format.format(new Date(ms));
}
