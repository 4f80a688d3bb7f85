/**
 * The deduplication conformance suite: debounce and throttle windows and `uniqueUntil =
 * 'started'` (src/flows/dedup.ts), built over each driver's records and browser, with racing
 * dispatchers over several driver instances (as several app processes or hosts would have),
 * against the real server.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Leases, NewJob } from '../../src/store/driver.ts';
import { mayStartDebounced, storeInWindow, dedupKey, type DedupWindow, type WindowResult } from '../../src/flows/dedup.ts';
import { addToFlow } from '../../src/flows/envelope.ts';
import { flowsOf } from '../../src/flows/settle-flows.ts';
import type { TestClock } from '../helpers/clock.ts';
import { onDrivers, type FlowHarness, type FlowTestDriver } from './flow-contract.ts';

const LEASE: Leases = { byName: {}, defaultMs: 60_000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function dedupContract(label: string, makeHarness: () => Promise<FlowHarness>): void {
  describe(`dedup contract: ${label}`, () => {
    let harness: FlowHarness;
    let clock: TestClock;
    let drivers: FlowTestDriver[];
    let n = 0;
    let queue = '';
    const key = (name: string) => `${name}-${++n}-${Date.now()}`;
    const job = (payload: object, over: Partial<NewJob> = {}): NewJob => ({ name: 'digest', queue, payload: JSON.stringify(payload), scheduledAt: clock.now(), overlapKey: null, ...over });
    const dispatch = (d: FlowTestDriver, window: DedupWindow, payload: object) => storeInWindow(d, window, job(payload), () => clock.now(), (j) => d.push(j));
    const idOf = (r: WindowResult) => (r.outcome === 'skipped' ? r.existingId : r.id);
    const claimAll = async (d: FlowTestDriver) => d.reserve({ queues: [queue], names: null, limit: 100, leases: LEASE });

    onDrivers(makeHarness, (d, c, h) => {
      [drivers, clock, harness] = [d, c, h];
    });

    it('throttle: of 16 racing dispatchers over 4 instances exactly one stores; the rest are skipped with its id; once a window ends one stores again', async () => {
      queue = key('q');
      const window: DedupWindow = { kind: 'throttle', key: key('user-7'), ms: 60_000 };
      const results = await Promise.all(Array.from({ length: 16 }, (_, i) => dispatch(drivers[i % 4]!, window, { i })));
      const stored = results.filter((r) => r.outcome === 'stored');
      expect(stored).toHaveLength(1);
      const skipped = results.filter((r) => r.outcome === 'skipped');
      expect(skipped).toHaveLength(15);
      // Told by those that came after it was named (the others saw the window claimed, id not yet written).
      for (const r of skipped) expect([r.why, r.existingId ?? idOf(stored[0]!)]).toEqual(['throttled', idOf(stored[0]!)]);
      expect(await dispatch(drivers[1]!, window, { late: true })).toEqual({ outcome: 'skipped', why: 'throttled', existingId: idOf(stored[0]!) });
      expect(await claimAll(drivers[0]!)).toHaveLength(1);
      // A window ends: kept on the server's clock where the store has one, so real time passes.
      const short: DedupWindow = { kind: 'throttle', key: key('user-8'), ms: 2_000 };
      expect((await dispatch(drivers[2]!, short, {})).outcome).toBe('stored');
      expect((await dispatch(drivers[3]!, short, {})).outcome).toBe('skipped');
      clock.advance(2_100);
      await sleep(harness.serverClock ? 2_100 : 0);
      expect((await dispatch(drivers[2]!, short, { next: true })).outcome).toBe('stored');
    }, 30_000);

    it('debounce: of a burst of 10 racing dispatchers over 4 instances, one job is left pending and it runs once', async () => {
      queue = key('q');
      const window: DedupWindow = { kind: 'debounce', key: key('reindex'), ms: 200 };
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => dispatch(drivers[i % 4]!, window, { i })));
      expect(results.filter((r) => r.outcome === 'stored')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'replaced')).toHaveLength(9);
      clock.advance(60_000);
      const claimed = await claimAll(drivers[0]!);
      expect(claimed).toHaveLength(1);
      expect(await mayStartDebounced(drivers[1]!, dedupKey(window.key), claimed[0]!.id)).toBe(true);
    }, 30_000);

    it('debounce: a job claimed before a later dispatch replaced it is skipped at its start; one that already started is not replaced', async () => {
      queue = key('q');
      const window: DedupWindow = { kind: 'debounce', key: key('digest'), ms: 100 };
      const k = dedupKey(window.key);
      const first = await dispatch(drivers[0]!, window, { n: 1 });
      clock.advance(1_000);
      const [claimed] = await claimAll(drivers[0]!);
      expect(claimed!.id).toBe(idOf(first));
      // A dispatch while it is claimed, not yet started: it cannot be cancelled, so it is skipped at its start.
      const second = await dispatch(drivers[1]!, window, { n: 2 });
      expect(second.outcome).toBe('replaced');
      expect(await mayStartDebounced(drivers[2]!, k, claimed!.id)).toBe('a later dispatch with its debounce key replaced it');
      await drivers[0]!.ack(claimed!);
      clock.advance(1_000);
      const [next] = await claimAll(drivers[0]!);
      expect(next!.id).toBe(idOf(second));
      expect(await mayStartDebounced(drivers[3]!, k, next!.id)).toBe(true);
      // Started: a new dispatch is a new burst, stored beside it.
      expect((await dispatch(drivers[1]!, window, { n: 3 })).outcome).toBe('stored');
      // Its retry still runs: the check is made at a job's first attempt.
      const flows = flowsOf({ driver: drivers[1]!, clock, logger: pino({ level: 'silent' }) });
      expect(await flows.admit({ ...next!, attempts: 2 }, {})).toBe(true);
    }, 30_000);

    it("uniqueUntil 'started': the overlap key is freed as the job starts, and its ack does not free the next holder's", async () => {
      queue = key('q');
      const overlapKey = `digest#${n}@${queue}`;
      const flows = flowsOf({ driver: drivers[0]!, clock, logger: pino({ level: 'silent' }) });
      const a = await drivers[0]!.push(job({}, { overlapKey, payload: addToFlow({ unlock: 'started' }, '{"n":1}') }));
      expect((await drivers[1]!.push(job({}, { overlapKey }))).skipped).toBe('overlapping');
      const [claimed] = await claimAll(drivers[0]!);
      expect(claimed!.id).toBe(a.id);
      expect(await flows.admit(claimed!, {})).toBe(true);
      const b = await drivers[1]!.push(job({ n: 2 }, { overlapKey }));
      expect(b.skipped).toBeUndefined();
      await drivers[0]!.ack(claimed!);
      expect(await drivers[2]!.push(job({ n: 3 }, { overlapKey }))).toEqual({ skipped: 'overlapping', existingId: b.id });
    }, 30_000);
  });
}
