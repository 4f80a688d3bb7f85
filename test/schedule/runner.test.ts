/**
 * The runner with an injected clock, on the file driver's records: which ticks run (missed ticks, catch-up,
 * daylight-saving changes), constraints, one server per tick, and run locks.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/infra/clock.ts';
import { FileDriver } from '../../src/drivers/file/file.ts';
import { ScheduleRunner } from '../../src/schedule/runner.ts';
import { Schedule } from '../../src/schedule/schedule.ts';
import { LOCKS, RUNS, ScheduleStore } from '../../src/schedule/store.ts';
import type { ScheduledTask } from '../../src/schedule/task.ts';
import { until } from '../helpers/clock.ts';
import { localTime } from '../../src/schedule/timing.ts';

/** A clock that stands where the test puts it. */
class ManualClock implements Clock {
  constructor(public at: number) {}
  now = () => this.at;
  sleep = async () => undefined;
  after = () => () => undefined;
}

let dir: string;
let clock: ManualClock;
let stores: ScheduleStore[];
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-runner-'));
  clock = new ManualClock(0);
  stores = [];
  Schedule.clear();
});
afterEach(() => {
  Schedule.clear();
  rmSync(dir, { recursive: true, force: true });
});

const runnerFor = (tasks: ScheduledTask[], timezone = 'UTC', env = 'production') => {
  const store = new ScheduleStore(new FileDriver(dir, clock), clock);
  stores.push(store);
  return new ScheduleRunner(tasks, { store, clock, timezone, root: dir, env, report: process.env.DEBUG_RUNNER ? (l) => console.log(clock.at, l) : undefined });
};

/** A call task that records the local time of each tick it ran for. */
const recording = (name: string) => {
  const ran: number[] = [];
  const task = Schedule.call(() => void ran.push(clock.now())).name(name);
  return { task, ran };
};

/** Moves the clock to `iso` and gives its time. */
const at = (iso: string) => (clock.at = Date.parse(iso));

/** Runs the scheduler once per minute from `from` to `to` (UTC ISO), as cron would. */
async function everyMinute(runner: ScheduleRunner, from: string, to: string, skip: (minute: number) => boolean = () => false) {
  for (let minute = Date.parse(from); minute < Date.parse(to); minute += 60_000) {
    if (skip(minute)) continue;
    clock.at = minute + 1_500; // cron starts the run a little after the minute begins
    await runner.runMinute();
  }
}

describe('which ticks run', () => {
  it('runs a task at its ticks only, and skips a tick no scheduler ran for', async () => {
    const { task, ran } = recording('five');
    task.everyFiveMinutes();
    const runner = runnerFor([task]);
    // The host missed 00:10 (cron skipped that minute).
    await everyMinute(runner, '2026-01-05T00:00:00Z', '2026-01-05T00:30:00Z', (m) => m === Date.parse('2026-01-05T00:10:00Z'));
    expect(ran.map((t) => localTime(t, 'UTC').slice(11, 16))).toEqual(['00:00', '00:05', '00:15', '00:20', '00:25']);
  });

  it('with catchUp(), runs a missed tick once, late, at the next run', async () => {
    const { task, ran } = recording('nightly');
    task.dailyAt('02:00').catchUp();
    const runner = runnerFor([task]);
    await everyMinute(runner, '2026-01-05T01:58:00Z', '2026-01-05T02:03:00Z');
    // The next night the host was down from 01:55 to 02:06.
    await everyMinute(runner, '2026-01-06T01:50:00Z', '2026-01-06T02:20:00Z', (m) => m >= Date.parse('2026-01-06T01:55:00Z') && m < Date.parse('2026-01-06T02:07:00Z'));
    expect(ran.map((t) => new Date(t).toISOString())).toEqual(['2026-01-05T02:00:01.500Z', '2026-01-06T02:07:01.500Z']);
    const [last] = await stores[0]!.runs('nightly', 1);
    expect(last).toMatchObject({ tick: Date.parse('2026-01-06T02:00:00Z'), outcome: 'success' });
  });

  it('runs a 6-field expression at its seconds', async () => {
    const { task, ran } = recording('seconds');
    task.cron('15,45 * * * * *');
    await runnerFor([task]).runMinute(at('2026-01-05T00:00:00Z'));
    expect((await stores[0]!.runs('seconds', 5)).map((r) => new Date(r.tick).toISOString()).sort()).toEqual(['2026-01-05T00:00:15.000Z', '2026-01-05T00:00:45.000Z']);
    expect(ran).toHaveLength(2);
  });

  for (const [zone, spring, autumn] of [
    ['Europe/Berlin', '2026-03-29', '2026-10-25'],
    ['America/New_York', '2026-03-08', '2026-11-01'],
  ] as const) {
    it(`across daylight-saving changes in ${zone}, a daily task runs once a day and an hourly one at each real hour`, async () => {
      const times = ['00:30', '01:30', '02:30', '03:30', '04:30'];
      const daily = times.map((t) => {
        const r = recording(`daily ${t}`);
        r.task.dailyAt(t).timezone(zone);
        return r;
      });
      const hourly = recording('hourly');
      hourly.task.hourlyAt(15).timezone(zone);
      const runner = runnerFor([...daily.map((d) => d.task), hourly.task]);
      for (const day of [spring, autumn]) {
        // The whole local day in both zones (UTC+1/+2 and UTC-5/-4).
        const start = new Date(`${day}T00:00:00Z`).getTime() - 6 * 3_600_000;
        await everyMinute(runner, new Date(start).toISOString(), new Date(start + 36 * 3_600_000).toISOString());
      }
      const localDays = (ran: number[]) => ran.map((t) => localTime(t, zone).slice(0, 10));
      const repeated = zone === 'Europe/Berlin' ? '02' : '01'; // the hour that happens twice in autumn
      const skipped = '02'; // the hour that does not happen in spring
      for (const [i, t] of times.entries()) {
        const days = localDays(daily[i]!.ran);
        // Once a day on both days: a time that occurs twice runs once, a time the clock jumps
        // over runs right after the jump, every other time at its time.
        expect(days.filter((d) => d === autumn), `${t} on ${autumn}`).toHaveLength(1);
        expect(days.filter((d) => d === spring), `${t} on ${spring}`).toHaveLength(1);
      }
      // Hourly at :15 runs at each real :15: 23 times on the 23-hour day, 25 on the 25-hour day
      // (the repeated hour's :15 twice, an hour apart), every other local hour once.
      const hours = (day: string) => hourly.ran.map((t) => localTime(t, zone)).filter((l) => l.startsWith(day)).map((l) => l.slice(11, 16));
      expect(hours(spring)).toHaveLength(23);
      expect(hours(spring)).not.toContain(`${skipped}:15`);
      expect(hours(autumn)).toHaveLength(25);
      expect(hours(autumn).filter((h) => h === `${repeated}:15`)).toHaveLength(2);
      expect(new Set(hours(autumn)).size).toBe(24);
    }, 120_000);
  }
});

describe('constraints', () => {
  it('applies weekdays, between, unlessBetween, when, skip and environments at the tick', async () => {
    const weekdays = recording('weekdays');
    weekdays.task.hourly().weekdays().between('9:00', '17:00').timezone('Asia/Jakarta');
    const night = recording('night');
    night.task.hourly().unlessBetween('06:00', '22:00');
    const gated = recording('gated');
    let open = false;
    gated.task.hourly().when(() => open).skip(async () => false);
    const staging = recording('staging');
    staging.task.hourly().environments('staging');
    const runner = runnerFor([weekdays.task, night.task, gated.task, staging.task]);
    // Friday 2026-01-09 and Saturday 2026-01-10, UTC.
    await everyMinute(runner, '2026-01-09T00:00:00Z', '2026-01-09T12:00:00Z');
    open = true;
    await everyMinute(runner, '2026-01-09T12:00:00Z', '2026-01-11T00:00:00Z');
    // 09:00-17:00 Jakarta (UTC+7) on Friday: 02:00-10:00 UTC.
    expect(weekdays.ran.map((t) => localTime(t, 'Asia/Jakarta').slice(0, 13))).toEqual(
      [9, 10, 11, 12, 13, 14, 15, 16, 17].map((h) => `2026-01-09 ${String(h).padStart(2, '0')}`),
    );
    expect(night.ran.map((t) => localTime(t, 'UTC').slice(11, 13))).toEqual(['00', '01', '02', '03', '04', '05', '23', '00', '01', '02', '03', '04', '05', '23']);
    expect(gated.ran).toHaveLength(36);
    expect(staging.ran).toEqual([]);
  });
});

describe('one server per tick, and run locks', () => {
  it('onOneServer(): of 6 hosts running the same minute, one runs the task', async () => {
    const { task, ran } = recording('invoices');
    task.everyMinute().onOneServer();
    const plain = recording('everywhere');
    plain.task.everyMinute();
    const hosts = Array.from({ length: 6 }, () => runnerFor([task, plain.task]));
    await Promise.all(hosts.map((h) => h.runMinute(at('2026-01-05T00:00:10Z'))));
    expect(ran).toHaveLength(1);
    expect(plain.ran).toHaveLength(6);
    await Promise.all(hosts.map((h) => h.runMinute(at('2026-01-05T00:01:10Z'))));
    expect(ran).toHaveLength(2);
  });

  it('withoutOverlapping(): skips ticks while the run lives, and a dead run\'s lock lapses', async () => {
    let finish!: () => void;
    let runs = 0;
    const task = Schedule.call(() => { runs++; return new Promise<void>((r) => (finish = r)); }).name('cleanup').everyMinute().withoutOverlapping();
    const runner = runnerFor([task]);
    const first = runner.runMinute(at('2026-01-05T00:00:00Z'));
    await until(() => runs === 1);
    clock.at = Date.parse('2026-01-05T00:01:00Z');
    const [skipped] = await runner.runMinute();
    expect(skipped).toMatchObject({ outcome: 'skipped', output: 'the previous run is still running' });
    finish();
    await first;
    expect((await stores[0]!.locks())).toEqual([]);
    clock.at = Date.parse('2026-01-05T00:02:00Z');
    const second = runner.runMinute();
    await until(() => runs === 2);
    finish();
    expect((await second)[0]).toMatchObject({ outcome: 'success' });
    expect(runs).toBe(2);

    // A run killed with its lock held (its process gone: nobody renews it).
    clock.at = Date.parse('2026-01-05T00:03:00Z');
    await stores[0]!.acquire('overlap:cleanup', 'killed-run', 60_000);
    expect((await runner.runMinute())[0]).toMatchObject({ outcome: 'skipped' });
    clock.at = Date.parse('2026-01-05T00:04:05Z'); // 65 s later: lapsed
    const third = runner.runMinute();
    await until(() => runs === 3);
    finish();
    expect((await third)[0]).toMatchObject({ outcome: 'success' });
  });

  it('a run finishing after its lock was taken over does not release the new run\'s lock', async () => {
    const finishers: (() => void)[] = [];
    const task = Schedule.call(() => new Promise<void>((r) => finishers.push(r))).name('report').everyMinute().withoutOverlapping(60);
    const runner = runnerFor([task]);
    const old = runner.runMinute(at('2026-01-05T00:00:00Z'));
    await until(() => finishers.length === 1);
    await stores[0]!.clearLocks(['overlap:report']); // as `rakit schedule:clear-locks report`
    clock.at = Date.parse('2026-01-05T00:01:00Z');
    const fresh = runner.runMinute();
    await until(() => finishers.length === 2);
    const [held] = await stores[0]!.locks();
    finishers[0]!(); // the old run ends late
    await old;
    expect(await stores[0]!.locks()).toEqual([held]);
    finishers[1]!();
    await fresh;
    expect(await stores[0]!.locks()).toEqual([]);
  });

  it('runs the hooks in order and records the outcome', async () => {
    const calls: string[] = [];
    const ok = Schedule.call(() => void calls.push('ok')).name('ok').everyMinute()
      .before(() => void calls.push('before')).after(() => void calls.push('after'))
      .onSuccess(() => void calls.push('success')).onFailure(() => void calls.push('failure'));
    const bad = Schedule.call(() => { throw new Error('rates API down'); }).name('bad').everyMinute()
      .onSuccess(() => void calls.push('bad success')).onFailure(() => void calls.push('bad failure'));
    const records = await runnerFor([ok, bad]).runMinute(at('2026-01-05T00:00:00Z'));
    // The tasks of a minute run side by side: the order holds within each task.
    expect(calls.filter((c) => !c.startsWith('bad'))).toEqual(['before', 'ok', 'after', 'success']);
    expect(calls.filter((c) => c.startsWith('bad'))).toEqual(['bad failure']);
    expect(records.find((r) => r.task === 'bad')).toMatchObject({ outcome: 'failure', output: 'Error: rates API down' });
    expect(await stores[0]!.runs('ok', 5)).toMatchObject([{ outcome: 'success', finishedAt: expect.any(Number), durationMs: 0 }]);
  });
  it('a run lock that cannot be released still leaves the run recorded as finished', async () => {
    const locks = path.join(dir, 'records', LOCKS);
    // The run breaks its own lock on disk: its record file becomes a folder, so release throws.
    const task = Schedule.call(() => {
      const file = path.join(locks, readdirSync(locks).find((f) => f.endsWith('.rec'))!);
      rmSync(file);
      mkdirSync(file);
    }).name('rates').everyMinute().withoutOverlapping();
    const lines: string[] = [];
    const store = new ScheduleStore(new FileDriver(dir, clock), clock);
    const runner = new ScheduleRunner([task], { store, clock, timezone: 'UTC', root: dir, env: 'production', report: (l) => lines.push(l) });
    const [record] = await runner.runMinute(at('2026-01-05T00:00:00Z'));
    expect(record).toMatchObject({ outcome: 'success', finishedAt: expect.any(Number) });
    expect(await store.runs('rates', 5)).toMatchObject([{ outcome: 'success', finishedAt: expect.any(Number) }]);
    expect(lines).toContainEqual(expect.stringMatching(/^rates: warning, its run lock could not be released \(it lapses in 90 s\): EISDIR/));
  });

  it('a run whose start the store cannot record still releases its run lock', async () => {
    let runs = 0;
    const task = Schedule.call(() => void runs++).name('rates').everyMinute().withoutOverlapping();
    const runner = runnerFor([task]);
    // The run records' folder is a file: saving a record fails.
    mkdirSync(path.join(dir, 'records'), { recursive: true });
    writeFileSync(path.join(dir, 'records', RUNS), 'not a folder');
    await expect(runner.runMinute(at('2026-01-05T00:00:00Z'))).rejects.toThrow(/EEXIST|ENOTDIR/);
    expect(await stores[0]!.locks()).toEqual([]);
    rmSync(path.join(dir, 'records', RUNS));
    clock.at = Date.parse('2026-01-05T00:01:00Z');
    expect(await runner.runMinute()).toMatchObject([{ outcome: 'success' }]);
    expect(runs).toBe(1);
  });
});
