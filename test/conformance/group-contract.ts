/**
 * The groups conformance suite: a queue's free slots go round-robin among its groups' lanes
 * (src/store/claims/lanes.ts, lane-turns.ts), with `--queue` and without, paused groups and queues
 * skipped, and racing claimers over several driver instances taking each job once, against
 * the real server.
 */
import { describe, expect, it } from 'vitest';
import type { Leases, NewJob, ReserveRequest, ReservedJob } from '../../src/store/driver.ts';
import { laneOf, splitLane } from '../../src/store/claims/lanes.ts';
import { declareLane, laneEnded } from '../../src/store/claims/lane-limits.ts';
import type { TestClock } from '../helpers/clock.ts';
import { onDrivers, type FlowHarness, type FlowTestDriver } from './flow-contract.ts';

const LEASE: Leases = { byName: {}, defaultMs: 60_000 };

export function groupContract(label: string, makeHarness: () => Promise<FlowHarness>): void {
  describe(`group contract: ${label}`, () => {
    let clock: TestClock;
    let drivers: FlowTestDriver[];
    let n = 0;
    let queue = '';
    const fresh = () => {
      queue = `grp-${++n}-${Date.now()}`;
      clock.advance(1_000); // past every instance's last look at the store's queues
    };
    const job = (group: string | null, i: number, over: Partial<NewJob> = {}): NewJob => ({
      name: 'report', queue: laneOf(queue, group), payload: JSON.stringify({ group, i }), scheduledAt: clock.now() - 1_000 + i, overlapKey: null, ...over,
    });
    const claim = (d: FlowTestDriver, limit: number, over: Partial<ReserveRequest> = {}) => d.reserve({ queues: [queue], names: null, limit, leases: LEASE, ...over });
    const groupOf = (j: ReservedJob) => splitLane(j.queue).group ?? '(none)';

    onDrivers(makeHarness, (d, c) => {
      [drivers, clock] = [d, c];
    });

    it("a flood in one group does not hold back the others: each of ten groups' job is claimed within the first claims, one slot each", async () => {
      fresh();
      const d = drivers[0]!;
      await d.pushMany(Array.from({ length: 200 }, (_, i) => job('tenant-a', i)));
      const others = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].map((t) => `tenant-${t}`);
      for (const [k, group] of others.entries()) await d.push(job(group, 500 + k));
      await d.push(job(null, 600));
      const seen: string[] = [];
      // Eleven lanes besides the flooded one's: six claims of two slots reach every one of them.
      for (let i = 0; i < 6; i++) {
        const claimed = await claim(d, 2);
        expect(claimed).toHaveLength(2);
        seen.push(...claimed.map(groupOf));
      }
      for (const group of [...others, '(none)']) expect(seen).toContain(group);
      expect(seen.filter((g) => g === 'tenant-a').length).toBeLessThanOrEqual(1);
      // What users see of a claimed job: its queue, and its group apart.
      expect(splitLane((await claim(d, 1))[0]!.queue)).toEqual({ queue, group: 'tenant-a' });
    }, 30_000);

    it('equal backlogs are served in turn: after every claim, no two groups differ by more than one job', async () => {
      fresh();
      const d = drivers[1]!;
      const groups = Array.from({ length: 7 }, (_, g) => `t${g}`);
      await d.pushMany(groups.flatMap((group) => Array.from({ length: 9 }, (_, i) => job(group, i))));
      const counts = new Map(groups.map((g) => [g, 0]));
      let total = 0;
      while (total < 63) {
        const claimed = await claim(d, 3);
        expect(claimed.length).toBeGreaterThan(0);
        for (const j of claimed) counts.set(groupOf(j), counts.get(groupOf(j))! + 1);
        total += claimed.length;
        const values = [...counts.values()];
        expect(Math.max(...values) - Math.min(...values), JSON.stringify([...counts])).toBeLessThanOrEqual(1);
      }
      expect(await claim(d, 3)).toEqual([]);
    }, 30_000);

    it('without --queue, every queue and group takes its turn; with it, a queue without groups is claimed as before', async () => {
      fresh();
      const d = drivers[2]!;
      const plain = `${queue}-plain`;
      // A name of this case only: the store may hold other cases' queues, which take their turns too.
      const name = `report-${n}`;
      await d.pushMany(Array.from({ length: 20 }, (_, i) => job('big', i, { name })));
      await d.push({ ...job(null, 0, { name }), queue: plain });
      await d.push(job('small', 0, { name }));
      const all = await d.reserve({ queues: null, names: [name], limit: 3, leases: LEASE });
      expect(all.map((j) => j.queue).sort()).toEqual([laneOf(queue, 'big'), laneOf(queue, 'small'), plain].sort());
      await d.pushMany(Array.from({ length: 3 }, (_, i) => ({ ...job(null, i), queue: plain })));
      expect((await d.reserve({ queues: [plain], names: null, limit: 5, leases: LEASE })).map((j) => j.queue)).toEqual([plain, plain, plain]);
    }, 30_000);

    it('a paused group is skipped, and pausing its queue pauses every group of it', async () => {
      fresh();
      const d = drivers[3]!;
      const name = `report-${n}`;
      await d.pushMany([job('x', 0, { name }), job('y', 1, { name }), job('y', 2, { name })]);
      expect((await claim(d, 5, { paused: [laneOf(queue, 'y')] })).map(groupOf)).toEqual(['x']);
      expect(await claim(d, 5, { paused: [queue] })).toEqual([]);
      expect(await d.reserve({ queues: null, names: [name], limit: 5, leases: LEASE, paused: [queue] })).toEqual([]);
      // Claims from two lanes run at once: on MariaDB one may skip a row the other's scan locked, for a claim.
      const rest = await claim(d, 5);
      if (rest.length < 2) rest.push(...(await claim(d, 5)));
      expect(rest.map(groupOf)).toEqual(['y', 'y']);
    }, 30_000);

    it('8 racing claimers over 4 instances take each of 120 jobs in 12 groups exactly once', async () => {
      fresh();
      await drivers[0]!.pushMany(Array.from({ length: 120 }, (_, i) => job(`g${i % 12}`, i)));
      const ids: string[] = [];
      await Promise.all(Array.from({ length: 8 }, async (_, c) => {
        for (;;) {
          const claimed = await claim(drivers[c % 4]!, 4);
          if (claimed.length === 0) return;
          ids.push(...claimed.map((j) => j.id));
          for (const j of claimed) expect(await drivers[c % 4]!.ack(j)).toBe(true);
        }
      }));
      expect(ids).toHaveLength(120);
      expect(new Set(ids).size).toBe(120);
    }, 60_000);

    it('groupConcurrency: 8 racing claimers over 4 instances never run more than 2 of a group at once, and run each of its jobs once', async () => {
      fresh();
      const lane = laneOf(queue, 'limited');
      await declareLane(drivers[0]!, lane, { concurrency: 2 }, clock.now());
      await drivers[0]!.pushMany([...Array.from({ length: 24 }, (_, i) => job('limited', i)), ...Array.from({ length: 8 }, (_, i) => job('free', i))]);
      let running = 0;
      let most = 0;
      let freeAtOnce = 0;
      const ran: string[] = [];
      await Promise.all(Array.from({ length: 8 }, async (_, c) => {
        const d = drivers[c % 4]!;
        for (let idle = 0; idle < 40 && ran.length < 32;) {
          const claimed = await claim(d, 4);
          if (claimed.length === 0) {
            idle++;
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          const mine = claimed.filter((j) => j.queue === lane).length;
          running += mine;
          most = Math.max(most, running);
          freeAtOnce = Math.max(freeAtOnce, claimed.length - mine);
          await new Promise((resolve) => setTimeout(resolve, 10));
          for (const j of claimed) {
            ran.push(j.id);
            expect(await d.ack(j)).toBe(true);
            if (j.queue === lane) running--;
            await laneEnded(j);
          }
        }
      }));
      expect(most).toBeLessThanOrEqual(2);
      expect(most).toBeGreaterThan(0);
      expect(ran).toHaveLength(32);
      expect(new Set(ran).size).toBe(32);
    }, 60_000);

    it('groupRate: at most `max` of a group start per window; the next window lets the next ones start', async () => {
      fresh();
      const lane = laneOf(queue, 'rated');
      await declareLane(drivers[1]!, lane, { rate: { max: 5, perMs: 60_000 } }, clock.now());
      await drivers[1]!.pushMany(Array.from({ length: 12 }, (_, i) => job('rated', i)));
      const first = await Promise.all(drivers.map((d) => claim(d, 4)));
      expect(first.flat()).toHaveLength(5);
      expect(await claim(drivers[2]!, 4)).toEqual([]);
      clock.advance(60_000);
      expect(await claim(drivers[3]!, 10)).toHaveLength(5);
    }, 30_000);

    it('weighted queues (high:6,default:3,low:1) share the slots 6:3:1 while all have due jobs; the others fill what an empty one leaves', async () => {
      fresh();
      const d = drivers[2]!;
      const [high, normal, low] = ['high', 'default', 'low'].map((q) => `${queue}-${q}`) as [string, string, string];
      for (const q of [high, normal, low]) await d.pushMany(Array.from({ length: 40 }, (_, i) => ({ ...job(null, i), queue: q })));
      const weighted = (limit: number) => d.reserve({ queues: [high, normal, low], weights: [6, 3, 1], names: null, limit, leases: LEASE });
      const count = (jobs: ReservedJob[]) => [high, normal, low].map((q) => jobs.filter((j) => j.queue === q).length);
      expect(count(await weighted(10))).toEqual([6, 3, 1]);
      // One slot a claim: the turns still go 6:3:1.
      const one: ReservedJob[] = [];
      for (let i = 0; i < 10; i++) one.push(...(await weighted(1)));
      expect(count(one)).toEqual([6, 3, 1]);
      // Dealt 36:18:6, high has only 28 left: the 8 slots it leaves go to default, the heavier of the others.
      expect(count(await weighted(60))).toEqual([28, 26, 6]);
    }, 30_000);

    it("hasDue: a queue's groups' due jobs are its own (a cron run does not stop while a group has some), and no other queue's", async () => {
      fresh();
      const d = drivers[3]!;
      const under = `${queue}_x`; // `_` matches any one character in SQL LIKE: it must not here
      await d.push({ ...job('t1', 0), queue: laneOf(under, 't1') });
      expect(await d.hasDue([under])).toBe(true);
      expect(await d.hasDue([`${queue}-x`, `${queue}`])).toBe(false);
      expect(await d.hasDue([`${queue}Zx`])).toBe(false);
    }, 30_000);

    it("the Jobs page's queue holds its groups' jobs; a group's lane holds its own", async () => {
      fresh();
      const d = drivers[0]!;
      await d.pushMany([job(null, 0), job('acme', 1), job('acme', 2), job('globex', 3), { ...job(null, 4), queue: `${queue}x` }]);
      const list = (q: string) => d.listJobs({ state: null, queue: q, search: null, offset: 0, limit: 50 });
      const all = await list(queue);
      expect(all.total).toBe(4);
      expect(all.jobs.map((j) => j.queue).sort()).toEqual([queue, laneOf(queue, 'acme'), laneOf(queue, 'acme'), laneOf(queue, 'globex')].sort());
      expect((await list(laneOf(queue, 'acme'))).total).toBe(2);
    }, 30_000);
  });
}
