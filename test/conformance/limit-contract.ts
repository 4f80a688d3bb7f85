/**
 * The limit conformance suite: rate limits, concurrency limits and exception throttles
 * (src/middleware/) built over each driver's record store, with racing takers over several
 * driver instances (as several worker processes or hosts would have), against the real server.
 */
import { describe, expect, it } from 'vitest';
import { acquirePlace, releasePlace } from '../../src/middleware/concurrency-limited.ts';
import { takeRate } from '../../src/middleware/rate-limited.ts';
import { noteException, throttledUntil } from '../../src/middleware/throttle-exceptions.ts';
import type { TestClock } from '../helpers/clock.ts';
import { onDrivers, type FlowHarness, type FlowTestDriver } from './flow-contract.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function limitContract(label: string, makeHarness: () => Promise<FlowHarness>): void {
  describe(`limit contract: ${label}`, () => {
    let clock: TestClock;
    let drivers: FlowTestDriver[];
    let n = 0;
    const key = (name: string) => `${name}-${++n}-${Date.now()}`;

    onDrivers(makeHarness, (d, c) => {
      [drivers, clock] = [d, c];
    });

    it('a limit of 5 per second holds with 16 racing takers over 4 driver instances', async () => {
      const k = key('mail');
      const taken: number[] = [];
      const until = Date.now() + 2_500;
      await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        const store = drivers[i % 4]!;
        while (Date.now() < until) {
          const take = await takeRate(store, k, 5, 1_000, clock);
          if (take.ok) taken.push(take.at);
          else await sleep(Math.max(1, Math.min(take.retryAt, until) - Date.now())); // a rate per second: wall time
        }
      }));
      taken.sort((a, b) => a - b);
      const busiest = Math.max(...taken.map((t) => taken.filter((u) => u >= t && u < t + 1_000).length));
      console.log(`${label}: 16 takers over 4 instances took ${taken.length} starts of 5 per second in 2.5 s, at most ${busiest} in any second`);
      expect(busiest, `starts at ${taken.map((t) => t - taken[0]!).join(', ')} ms`).toBeLessThanOrEqual(5);
      // The limit is a limit, not a stop: in 2.5 s the takers got the 5 of more than one window
      // (each 1.1 s with its margin, three of them when the store keeps pace).
      expect(taken.length).toBeGreaterThanOrEqual(6);
      expect(taken.length).toBeLessThanOrEqual(15);
    }, 30_000);

    it('a take written later than the margin covers gives its start up and widens the window by what it measured', async () => {
      const k = key('slow');
      const t0 = clock.now();
      let reading = t0;
      // Each reading of this clock comes 300 ms after the last: a store that took 300 ms to write.
      const slow = { now: () => (reading += 300) - 300 };
      const first = await takeRate(drivers[0]!, k, 1, 1_000, slow);
      expect(first).toEqual({ ok: false, retryAt: t0 + 1_300 });
      // Its place stays used, and the window is now 1.3 s: 1.2 s later is still too soon.
      expect(await takeRate(drivers[1]!, k, 1, 1_000, { now: () => t0 + 1_200 })).toEqual({ ok: false, retryAt: t0 + 1_300 });
      expect(await takeRate(drivers[2]!, k, 1, 1_000, { now: () => t0 + 1_301 })).toEqual({ ok: true, at: t0 + 1_301 });
    }, 30_000);

    it('a concurrency limit of 3 holds with 16 racing holders over 4 driver instances, and a dead holder frees its place at its lease end', async () => {
      const k = key('pdf');
      let running = 0;
      let most = 0;
      let runs = 0;
      let refused = 0;
      await Promise.all(Array.from({ length: 16 }, async (_, i) => {
        const store = drivers[i % 4]!;
        for (let round = 0; round < 3; round++) {
          const holder = `job-${i}-${round}`;
          if (!(await acquirePlace(store, k, 3, holder, clock.now() + 60_000, clock))) {
            refused++;
            await sleep(20); // tries again a little later, as a released job would: time on purpose
            continue;
          }
          running++;
          most = Math.max(most, running);
          runs++;
          await sleep(30); // holds its place a while, as a running job does: time on purpose
          running--;
          await releasePlace(store, k, holder, clock);
        }
      }));
      expect(most).toBeLessThanOrEqual(3);
      expect(runs).toBeGreaterThanOrEqual(3);
      expect(refused).toBeGreaterThan(0);

      const crashed = key('crash');
      expect(await acquirePlace(drivers[0]!, crashed, 1, 'dead', clock.now() + 5_000, clock)).toBe(true);
      expect(await acquirePlace(drivers[1]!, crashed, 1, 'alive', clock.now() + 60_000, clock)).toBe(false);
      clock.advance(5_001);
      expect(await acquirePlace(drivers[1]!, crashed, 1, 'alive', clock.now() + 60_000, clock)).toBe(true);
      await releasePlace(drivers[1]!, crashed, 'alive', clock);
      expect(await acquirePlace(drivers[2]!, crashed, 1, 'next', clock.now() + 60_000, clock)).toBe(true);
    }, 30_000);

    it('an exception throttle closes after max exceptions within its period and opens when the period ends', async () => {
      const k = key('api');
      const [a, b, c] = drivers;
      expect(await noteException(a!, k, 3, 1_000, clock)).toBe(false);
      expect(await noteException(b!, k, 3, 1_000, clock)).toBe(false);
      clock.advance(1_001); // the first two fall out of the window
      expect(await noteException(c!, k, 3, 1_000, clock)).toBe(false);
      expect((await throttledUntil(a!, k, clock)).until).toBeNull();
      await Promise.all([noteException(a!, k, 3, 1_000, clock), noteException(b!, k, 3, 1_000, clock)]);
      const closed = await throttledUntil(c!, k, clock);
      expect(closed.until).toBeGreaterThan(clock.now());
      clock.advance(1_001);
      expect((await throttledUntil(a!, k, clock)).until).toBeNull();
    }, 30_000);
  });
}
