/**
 * Settling an attempt on a real SQLite store: done is acked, a failure is retried after its
 * backoff or moved to the failed store with its failed() hook run on the real job and error, a
 * release gives the job back uncounted; a skipped job is acked, told to the flows as done, logged
 * and not counted in the metrics; a job whose lease was taken over is left alone.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReservedJob } from '../../src/store/driver.ts';
import { TimeoutError } from '../../src/infra/errors.ts';
import { Jobable } from '../../src/api/jobable.ts';
import { Registry } from '../../src/api/registry.ts';
import { WorkerDiedError } from '../../src/infra/errors.ts';
import { errorFromWire, errorToWire, runFailedHook, settle, type SettleDeps } from '../../src/worker/settle.ts';
import { settleLeftRunning } from '../../src/manager/child-exit.ts';
import { TestClock } from '../helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { allFailed } from '../helpers/failed.ts';

let db: TestDatabase | null = null;
afterEach(async () => {
  await db?.drop();
  db = null;
});

async function setup() {
  db = await createTestDatabase('sqlite');
  const clock = new TestClock();
  const driver = db.driver(clock);
  const msgs: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _e, done) { msgs.push(JSON.parse(String(chunk)).msg); done(); } }));
  const hooks: [ReservedJob, Error][] = [];
  const deps: SettleDeps = { driver, clock, logger, failedHook: (job, error) => void hooks.push([job, error]) };
  await driver.push({ name: 'mail', queue: 'q', payload: '{"to":"a"}', scheduledAt: clock.now() - 1, overlapKey: 'mail@q' });
  const [job] = await driver.reserve({ queues: null, names: null, limit: 1, leases: { byName: {}, defaultMs: 60_000 } });
  return { clock, driver, msgs, hooks, deps, job: job! };
}
const plan = { final: false, backoffMs: 30_000, tries: 3 };

describe('settle', () => {
  it('acks a done attempt', async () => {
    const { deps, job, driver, msgs } = await setup();
    expect(await settle(deps, job, { kind: 'done' }, plan, 5)).toEqual({ kind: 'done' });
    expect(await driver.stats()).toEqual([]);
    expect(msgs).toEqual(['Job executed: mail (attempt 1)']);
  });

  it('acks a skipped attempt as final for the flows, logs why, and does not count it in the metrics', async () => {
    const { deps, job, driver, msgs } = await setup();
    const finals: string[] = [];
    const recorded: string[] = [];
    const skipDeps: SettleDeps = { ...deps, flows: { concerns: () => true, beforeFinal: async (j, outcome) => void finals.push(`${j.id} ${outcome}`) }, metrics: { record: (_j, outcome) => void recorded.push(outcome) } };
    expect(await settle(skipDeps, job, { kind: 'skip', why: 'skipIf' }, plan, 1)).toEqual({ kind: 'skipped', why: 'skipIf' });
    expect(await driver.stats()).toEqual([]);
    expect(finals).toEqual([`${job.id} done`]);
    expect(recorded).toEqual([]);
    expect(msgs).toEqual(['Job skipped: mail (skipIf)']);
  });

  it('retries a failure that is not final after its backoff, stored in the queue', async () => {
    const { deps, job, driver, clock, msgs } = await setup();
    const result = await settle(deps, job, { kind: 'failure', error: new Error('boom'), final: false }, plan, 5);
    expect(result.kind).toBe('retried');
    expect(result.kind === 'retried' && result.at - clock.now()).toBeGreaterThan(29_000);
    expect((await driver.stats())[0]).toMatchObject({ scheduled: 1, reserved: 0 });
    expect(msgs).toEqual(['Job retry: mail (attempt 1 of 3 failed: boom)']);
  });

  it('moves a final failure to the failed store and hands the hook the real job and error', async () => {
    const { deps, job, driver, hooks } = await setup();
    const error = WorkerDiedError.of(job, 3, null);
    expect(await settle(deps, job, { kind: 'failure', error, final: false }, { ...plan, final: true }, 5)).toEqual({ kind: 'failed' });
    const [failed] = await allFailed(driver);
    expect(failed!.exception).toMatch(/^WorkerDiedError: The worker process running job "mail" \(id \d+\) died \(exit code 3\)/);
    expect(hooks).toEqual([[job, error]]);
  });

  it('gives a released attempt back uncounted', async () => {
    const { deps, job } = await setup();
    expect(await settle(deps, job, { kind: 'release', why: 'worker forced to stop' }, plan, 5)).toMatchObject({ kind: 'released' });
    expect(await db!.knex(db!.table).where('id', job.id).first()).toMatchObject({ attempts: 0, reserved_by: null });
  });

  it('leaves alone a job whose lease another worker holds now', async () => {
    const { deps, job, hooks } = await setup();
    const stale = { ...job, token: 'not-ours' };
    expect(await settle(deps, stale, { kind: 'failure', error: new Error('x'), final: true }, plan, 5)).toEqual({ kind: 'lost' });
    expect(await settle(deps, stale, { kind: 'done' }, plan, 5)).toEqual({ kind: 'lost' });
    expect(hooks).toEqual([]);
  });

  it('runs failed() on a job object with the real id, queue, attempt and payload, and the error of its class across processes', async () => {
    const { job, deps } = await setup();
    const seen: unknown[] = [];
    class Mail extends Jobable<{ to: string }> {
      async run() {}
      async failed(error: Error) {
        seen.push({ id: this.id, queue: this.queue, attempt: this.attempt, payload: this.payload, error });
      }
    }
    const registry = new Registry(db!.dir);
    registry.remember(Mail);
    for (const error of [new TimeoutError('too long'), WorkerDiedError.of(job, null, 'SIGKILL')]) {
      await runFailedHook(registry, deps.logger, job, errorFromWire(JSON.parse(JSON.stringify(errorToWire(error)))));
    }
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ id: job.id, queue: 'q', attempt: 1, payload: { to: 'a' } });
    const [timeout, died] = seen.map((s) => (s as { error: Error }).error);
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(died).toBeInstanceOf(WorkerDiedError);
    expect(died).toMatchObject({ signal: 'SIGKILL', exitCode: null });
    expect(died!.message).toMatch(/died \(SIGKILL\)$/);
  });

  it('a job a dead process left running counts as done when the process had acked it before telling of its success, lost when another holds it, retried when it was still its own', async () => {
    const { deps, job, driver } = await setup();
    const left = (j: ReservedJob) => [{ job: j, plan: { ...plan, timeoutMs: 60_000 } as never, startedAt: 0, killed: false }];
    // Acked (its ack rode on the process's next claim), not told: held nowhere, so done.
    await driver.ack(job);
    expect(await settleLeftRunning(deps, left(job), 'died', null, 'SIGKILL')).toEqual([{ kind: 'done' }]);
    // Held by another worker after its lease lapsed: lost, not done.
    await driver.push({ name: 'mail', queue: 'q', payload: '{}', scheduledAt: deps.clock.now() - 1, overlapKey: null });
    const [other] = await driver.reserve({ queues: null, names: null, limit: 1, leases: { byName: {}, defaultMs: 60_000 } });
    expect(await settleLeftRunning(deps, left({ ...other!, token: 'not-ours' }), 'died', null, 'SIGKILL')).toEqual([{ kind: 'lost' }]);
    // Still its own: failed with the death and retried.
    expect((await settleLeftRunning(deps, left(other!), 'died', null, 'SIGKILL'))[0]!.kind).toBe('retried');
  });
});
