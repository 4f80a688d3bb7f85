/**
 * The batch conformance suite: batches (src/flows/) on every store, through the driver's
 * capabilities only, with several driver instances racing as worker processes on several hosts
 * would. Counts stay exact; `then` is made due once when the last two jobs settle at the same
 * moment; settling a job again changes nothing; a cancelled batch's jobs are counted, not run.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobConfig } from '../../src/infra/config.ts';
import type { ReservedJob } from '../../src/store/driver.ts';
import { openBatch, type Batch } from '../../src/flows/batches/batch-handle.ts';
import { batchView } from '../../src/flows/batches/batch-record.ts';
import { readBatch } from '../../src/flows/batches/batch-store.ts';
import { PendingBatch } from '../../src/flows/batches/pending-batch.ts';
import { flowsOf, type Flows } from '../../src/flows/settle-flows.ts';
import type { FlowEnv } from '../../src/flows/job-spec.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { Registry } from '../../src/api/registry.ts';
import { TestClock } from '../helpers/clock.ts';
import type { FlowHarness, FlowTestDriver } from './flow-contract.ts';

class Item extends Jobable<{ n: number }> {
  run() {}
}
class Callback extends Jobable<{ tag: string }> {
  run() {}
}

const LEASES = { byName: {}, defaultMs: 60_000 };

export function batchContract(label: string, makeHarness: () => Promise<FlowHarness>): void {
  describe(`batch contract: ${label}`, () => {
    let harness: FlowHarness;
    const clock = new TestClock();
    let drivers: FlowTestDriver[];
    let flows: Flows[];
    let env: FlowEnv;
    let n = 0;
    const logger = createLogger({ logging: false });
    const registry = new Registry(os.tmpdir());

    beforeAll(async () => {
      harness = await makeHarness();
      drivers = [0, 1, 2, 3].map(() => harness.driver(clock));
      flows = drivers.map((driver) => flowsOf({ driver, clock, logger })!);
      env = { driver: drivers[0]!, registry, config: { max_payload_bytes: 65_536 } as JobConfig, clock, logger };
    });
    afterAll(async () => {
      await harness?.teardown();
    });

    /** A batch of `size` items on a queue of its own, with then, catch and finally jobs. */
    const dispatch = (size: number, setup: (b: PendingBatch) => PendingBatch = (b) => b): Promise<Batch> => {
      n++;
      const pending = new PendingBatch(Array.from({ length: size }, (_, i) => new Item({ n: i })), async () => env)
        .then(new Callback({ tag: 'then' })).catch(new Callback({ tag: 'catch' })).finally(new Callback({ tag: 'finally' })).onQueue(`b-${n}`);
      return setup(pending).dispatch();
    };
    const claimAll = async (names = ['item']): Promise<ReservedJob[]> => {
      const all: ReservedJob[] = [];
      for (;;) {
        const got = await drivers[0]!.reserve({ queues: [`b-${n}`], names, limit: 100, leases: LEASES });
        if (got.length === 0) return all;
        all.push(...got);
      }
    };
    const due = async (): Promise<string[]> =>
      (await drivers[0]!.listJobs({ state: 'ready', queue: `b-${n}`, search: null, offset: 0, limit: 500 })).jobs.filter((j) => j.name === 'callback').map((j) => JSON.parse(j.payload).tag as string).sort();
    const callbackIds = async (batch: Batch) => {
      const stored = await drivers[0]!.getRecord('batch', batch.id);
      return (JSON.parse(stored!.value) as { callbacks: Record<string, string> }).callbacks;
    };

    it('counts every job once with settlers racing over four instances, and a job settled again changes nothing', async () => {
      const batch = await dispatch(120, (b) => b.allowFailures());
      expect(await due()).toEqual([]); // callbacks are held
      const jobs = await claimAll();
      expect(jobs).toHaveLength(120);
      const outcome = (job: ReservedJob) => ((JSON.parse(job.payload) as { n: number }).n % 12 === 5 ? 'failed' : 'done');
      await Promise.all(jobs.map((job, k) => flows[k % 4]!.beforeFinal(job, outcome(job))));
      // Settled again (a crash before the ack; job:retry of a failed one that fails again).
      await Promise.all(jobs.slice(0, 30).map((job, k) => flows[(k + 1) % 4]!.beforeFinal(job, outcome(job))));
      const after = (await openBatch(env, batch.id))!;
      expect(after).toMatchObject({ totalJobs: 120, processedJobs: 120, pendingJobs: 0, failedJobs: 10, progress: 100, finished: true, cancelled: false });
      expect(await due()).toEqual(['catch', 'finally']);
      const ids = await callbackIds(batch);
      expect(await drivers[0]!.getJob(ids.then!)).toBeNull(); // dropped
    });

    it('makes then due once when the last two jobs settle at the same moment', async () => {
      for (let round = 0; round < 5; round++) {
        const batch = await dispatch(2);
        const [a, b] = await claimAll();
        await Promise.all([flows[round % 4]!.beforeFinal(a!, 'done'), flows[(round + 1) % 4]!.beforeFinal(b!, 'done')]);
        expect(await due()).toEqual(['finally', 'then']);
        const callbacks = await claimAll(['callback']);
        expect(callbacks).toHaveLength(2);
        // The last job settled again once `then` is running: nothing is made due a second time.
        await Promise.all([flows[2]!.beforeFinal(a!, 'done'), flows[3]!.beforeFinal(b!, 'done')]);
        expect(await due()).toEqual([]);
        const ids = await callbackIds(batch);
        expect(await drivers[0]!.getJob(ids.catch!)).toBeNull();
      }
    });

    it('without allowFailures, the first failure cancels: the jobs not started are counted, not run; then is dropped, catch and finally run', async () => {
      const batch = await dispatch(6);
      const jobs = await claimAll();
      await flows[0]!.beforeFinal(jobs[0]!, 'failed');
      expect((await openBatch(env, batch.id))!.cancelled).toBe(true);
      expect(await due()).toEqual(['catch']);
      const skipped = await Promise.all(jobs.slice(1).map((job, k) => flows[k % 4]!.admit(job, {})));
      expect(skipped).toEqual(Array(5).fill('its batch was cancelled'));
      await Promise.all(jobs.slice(1).map((job, k) => flows[k % 4]!.beforeFinal(job, 'done')));
      expect(await openBatch(env, batch.id)).toMatchObject({ processedJobs: 6, failedJobs: 1, pendingJobs: 0, finished: true });
      expect(await due()).toEqual(['catch', 'finally']);
    });

    it('cancel(): pending jobs are not run but counted as skipped (all of one claim, settled at once), then never runs, finally does', async () => {
      const batch = await dispatch(50);
      const jobs = await claimAll(); // one claim: on some stores every job of it shares a token
      await flows[1]!.beforeFinal(jobs[0]!, 'done');
      expect(await batch.cancel()).toBe(true);
      expect(new Set(await Promise.all(jobs.slice(1).map((job) => flows[2]!.admit(job, {}))))).toEqual(new Set(['its batch was cancelled']));
      await Promise.all(jobs.slice(1).map((job) => flows[2]!.beforeFinal(job, 'done')));
      expect(await openBatch(env, batch.id)).toMatchObject({ processedJobs: 50, failedJobs: 0, cancelled: true, finished: true });
      expect(batchView((await readBatch(drivers[0]!, batch.id))!)).toMatchObject({ skippedJobs: 49, status: 'cancelled' });
      expect(await due()).toEqual(['finally']);
      // A finished batch cannot be cancelled again: its status stays.
      expect(await batch.cancel()).toBe(false);
    });
  });
}
