/**
 * What `application/schedule.ts` can say: each frequency helper's cron expression (as Laravel
 * writes it), the checks that catch a mistake when the schedule loads, and the Schedule facade.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/infra/errors.ts';
import { Schedule } from '../../src/schedule/schedule.ts';
import { ScheduledTask } from '../../src/schedule/task.ts';
import { assertExpression, nextTick } from '../../src/schedule/timing.ts';

const task = () => new ScheduledTask({ kind: 'call', fn: () => undefined });
afterEach(() => Schedule.clear());

describe('frequencies', () => {
  it.each([
    [(t: ScheduledTask) => t.everyMinute(), '* * * * *'],
    [(t: ScheduledTask) => t.everyFiveMinutes(), '*/5 * * * *'],
    [(t: ScheduledTask) => t.everyThirtyMinutes(), '0,30 * * * *'],
    [(t: ScheduledTask) => t.hourly(), '0 * * * *'],
    [(t: ScheduledTask) => t.hourlyAt(17), '17 * * * *'],
    [(t: ScheduledTask) => t.daily(), '0 0 * * *'],
    [(t: ScheduledTask) => t.dailyAt('13:05'), '5 13 * * *'],
    [(t: ScheduledTask) => t.twiceDaily(1, 13), '0 1,13 * * *'],
    [(t: ScheduledTask) => t.weekly(), '0 0 * * 0'],
    [(t: ScheduledTask) => t.weeklyOn(1, '08:00'), '0 8 * * 1'],
    [(t: ScheduledTask) => t.monthly(), '0 0 1 * *'],
    [(t: ScheduledTask) => t.monthlyOn(4, '15:00'), '0 15 4 * *'],
    [(t: ScheduledTask) => t.lastDayOfMonth('23:30'), '30 23 L * *'],
    [(t: ScheduledTask) => t.quarterly(), '0 0 1 1-12/3 *'],
    [(t: ScheduledTask) => t.yearly(), '0 0 1 1 *'],
    [(t: ScheduledTask) => t.hourly().weekdays(), '0 * * * 1-5'],
    [(t: ScheduledTask) => t.dailyAt('09:00').weekends(), '0 9 * * 6,0'],
    [(t: ScheduledTask) => t.daily().days(1, 3), '0 0 * * 1,3'],
    [(t: ScheduledTask) => t.cron('30 8 * * 1-5'), '30 8 * * 1-5'],
    [(t: ScheduledTask) => t.cron('*/10 * * * * *').hourly(), '*/10 0 * * * *'],
  ])('%#: gives %s', (build, expression) => {
    const t = build(task());
    expect(t.expression).toBe(expression);
    assertExpression(t.expression, 'UTC');
  });

  it('runs lastDayOfMonth() on the last day of each month, in the task\'s zone', () => {
    const t = task().lastDayOfMonth('23:30');
    const from = Date.parse('2026-02-01T00:00:00Z');
    expect(new Date(nextTick(t.expression, 'Asia/Jakarta', from)!).toISOString()).toBe('2026-02-28T16:30:00.000Z');
  });
});

describe('mistakes are caught when the schedule loads', () => {
  it('rejects bad expressions, times, zones and names with what to do', () => {
    expect(() => task().cron('* * *')).toThrow(/5 fields \(or 6 with seconds first\)/);
    expect(() => assertExpression('61 * * * *', 'UTC')).toThrow(UsageError);
    expect(() => task().dailyAt('25:00')).toThrow(/'HH:mm'/);
    expect(() => task().timezone('Mars/Olympus')).toThrow(/IANA/);
    expect(() => task().withoutOverlapping(0)).toThrow(/seconds ≥ 1/);
    expect(() => task().sendOutputTo('x.log')).toThrow(/Schedule.command/);
    expect(() => Schedule.call(() => undefined).everyMinute().taskName).toThrow(/needs a name/);
  });

  it('names job and command tasks after what they run, and tells apart tasks of one job without .name()', () => {
    Schedule.clear();
    Schedule.job('send-digest', {}).daily();
    Schedule.command('job:flush --hours=168').weekly();
    expect(Schedule.tasks().map((t) => t.taskName)).toEqual(['send-digest', 'job:flush --hours=168']);
    // The same job twice, with another payload and time: each gets a stable derived name.
    Schedule.job('send-digest', { to: 'b' }).hourly();
    const names = Schedule.tasks().map((t) => t.taskName);
    expect(names).toEqual(['send-digest {}', 'job:flush --hours=168', 'send-digest {"to":"b"}']);
    // Stable: declared again (the next deploy, the next cron run), the same names.
    Schedule.clear();
    Schedule.job('send-digest', {}).daily();
    Schedule.command('job:flush --hours=168').weekly();
    Schedule.job('send-digest', { to: 'b' }).hourly();
    expect(Schedule.tasks().map((t) => t.taskName)).toEqual(names);
    // Only the payload differs, or only the time: still apart.
    Schedule.clear();
    Schedule.job('report', { team: 'a' }).dailyAt('08:00');
    Schedule.job('report', { team: 'b' }).dailyAt('08:00');
    Schedule.job('report', { team: 'a' }).dailyAt('09:00');
    expect(Schedule.tasks().map((t) => t.taskName)).toEqual(['report {"team":"a"} (0 8 * * *)', 'report {"team":"b"} (0 8 * * *)', 'report {"team":"a"} (0 9 * * *)']);
    // A payload too long for a name: a short stable mark instead.
    Schedule.clear();
    Schedule.job('report', { team: 'x'.repeat(300) }).daily();
    Schedule.job('report', { team: 'y' }).daily();
    expect(Schedule.tasks().map((t) => t.taskName)).toEqual([expect.stringMatching(/^report #[0-9a-f]{8}$/), 'report {"team":"y"}']);
    Schedule.clear();
    Schedule.job('report', { team: 'a' }).dailyAt('08:00');
    Schedule.job('report', { team: 'b' }).dailyAt('08:00');
    Schedule.job('report', { team: 'a' }).dailyAt('09:00');
    // .name() still overrides, and a name given twice, or the very same task twice, is refused.
    Schedule.job('report', { team: 'c' }).daily().name('team-c');
    expect(Schedule.tasks().at(-1)!.taskName).toBe('team-c');
    Schedule.job('other', {}).daily().name('team-c');
    expect(() => Schedule.tasks()).toThrow(/Two scheduled tasks are named "team-c": give one of them \.name/);
    Schedule.clear();
    Schedule.job('report', { team: 'a' }).dailyAt('08:00');
    Schedule.job('report', { team: 'a' }).dailyAt('08:00');
    expect(() => Schedule.tasks()).toThrow(/Two scheduled tasks are named "report #[0-9a-f]{8}" \(the same job or command with the same payload and queue at the same times\)/);
  });
});
