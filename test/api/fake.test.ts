/**
 * Job.fake(): nothing is stored, every dispatch kind is recorded, each assertion passes and
 * fails as it says (its message listing what was dispatched), fake([Class]) fakes only those
 * classes (and chains and batches), restore() stores again.
 */
import { AssertionError } from 'node:assert';
import { afterAll, afterEach, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import pino from 'pino';
import { Jobable } from '../../src/api/jobable.ts';
import { Job } from '../../src/api/job-facade.ts';
import { closeRuntime, configure } from '../../src/api/runtime.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

class SendEmail extends Jobable<{ to: string; subject?: string }> {
  async run() {}
}
class ResizeImage extends Jobable<{ path: string }> {
  async run() {}
}
class Notify extends Jobable<{ who: string }> {
  async run() {}
}

let db: TestDatabase;
const stored = async () => (await db.knex(db.table).count({ n: '*' }).first())!.n;

beforeAll(async () => {
  db = await createTestDatabase('sqlite');
  await configure({ database: db.url, table: db.table, failed_table: db.failedTable }, { root: db.dir, logger: pino({ level: 'silent' }) });
});
afterEach(() => Job.restore());
afterAll(async () => {
  await closeRuntime();
  await db.drop();
});

/** The message of the AssertionError `fn` throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AssertionError);
    return (error as Error).message;
  }
  throw new Error('expected the assertion to fail');
}

describe('Job.fake()', () => {
  it('keeps deduplication windows in the fake, not in the store: each test starts with none', async () => {
    for (let run = 0; run < 2; run++) {
      Job.fake();
      const first = await SendEmail.dispatch({ to: 'a@b.c' }).throttle('welcome:a', 60_000);
      const again = await SendEmail.dispatch({ to: 'a@b.c' }).throttle('welcome:a', 60_000);
      expect([first.outcome, again.outcome, again.skipped]).toEqual(['stored', 'skipped', 'throttled']);
      const debounced = await Notify.dispatch({ who: 'x' }).debounce('notify:x', 1_000);
      expect(debounced.outcome).toBe('stored');
      Job.assertDispatchedTimes(SendEmail, 1);
      Job.restore();
    }
    expect(await db.knex(`${db.table}_records`).count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await stored()).toBe(0);
  });

  it('records a dispatch written in the app\'s transaction, and stores it nowhere; jobs it does not fake go in the transaction', async () => {
    Job.fake([SendEmail]);
    await db.knex.transaction(async (trx) => {
      await SendEmail.dispatch({ to: 'in-trx@example.com' }).withTransaction(trx);
      await Notify.dispatch({ who: 'real' }).withTransaction(trx);
    });
    Job.assertDispatched(SendEmail, (job) => job.payload.to === 'in-trx@example.com');
    expect(Number(await stored())).toBe(1);
    await db.knex(db.table).delete();
  });

  it('records every dispatch kind and stores nothing', async () => {
    Job.fake();
    await SendEmail.dispatch({ to: 'a@example.com' });
    await SendEmail.dispatch({ to: 'b@example.com' }).onQueue('mail').delay(60);
    await ResizeImage.dispatchMany([{ path: '1.png' }, { path: '2.png' }]);
    await Job.chain([new Notify({ who: 'x' }), new SendEmail({ to: 'c@example.com' })]).catch(new Notify({ who: 'ops' })).dispatch();
    await Job.batch([new ResizeImage({ path: '3.png' }), new ResizeImage({ path: '4.png' })]).name('thumbs').then(new Notify({ who: 'done' })).allowFailures().dispatch();
    expect(await stored()).toBe(0);

    Job.assertDispatched(SendEmail);
    Job.assertDispatched(SendEmail, (job) => job.payload.to === 'a@example.com');
    Job.assertDispatched('send-email', (_job, d) => d.queue === 'mail' && d.delay === 60);
    Job.assertDispatchedTimes(SendEmail, 2);
    Job.assertDispatchedTimes(ResizeImage, 2);
    // A chain counts as its first job's dispatch, as Laravel's fake counts it.
    Job.assertDispatchedTimes(Notify, 1);
    Job.assertNotDispatched(SendEmail, (job) => job.payload.to === 'nobody@example.com');
    Job.assertPushedOn('mail', SendEmail);
    Job.assertPushedOn('mail', SendEmail, (job) => job.get('to') === 'b@example.com');
    const chain = Job.assertChained([Notify, SendEmail]);
    expect(chain.catch?.payload).toEqual({ who: 'ops' });
    Job.assertChained([new Notify({ who: 'x' }), SendEmail]);
    const batch = Job.assertBatched((b) => b.name === 'thumbs' && b.jobs.length === 2);
    expect(batch.allowFailures).toBe(true);
    expect(batch.then?.payload).toEqual({ who: 'done' });
    expect(batch.jobs.map((d) => d.payload.path)).toEqual(['3.png', '4.png']);
    expect(Job.dispatched(SendEmail).map((d) => d.job?.payload.to)).toEqual(['a@example.com', 'b@example.com']);
  });

  it('fails each assertion with what was dispatched instead', async () => {
    Job.fake();
    expect(failure(() => Job.assertDispatched(SendEmail))).toMatch(/Expected SendEmail \(send-email\) to be dispatched, but it was not\.\nNothing was dispatched\./);
    Job.assertNothingDispatched();
    await SendEmail.dispatch({ to: 'a@example.com' }).onQueue('mail');
    const message = failure(() => Job.assertDispatched(SendEmail, (job) => job.payload.to === 'z@example.com'));
    expect(message).toContain('matching the predicate');
    expect(message).toContain('Dispatched:\n  - send-email on mail {"to":"a@example.com"}');
    expect(failure(() => Job.assertDispatchedTimes(SendEmail, 2))).toContain('dispatched 1 time(s)');
    expect(failure(() => Job.assertNotDispatched(SendEmail))).toContain('not to be dispatched');
    expect(failure(() => Job.assertNothingDispatched())).toContain('Expected nothing to be dispatched');
    expect(failure(() => Job.assertPushedOn('default', SendEmail))).toContain('on queue "default"');
    expect(failure(() => Job.assertChained([SendEmail, Notify]))).toContain('Expected a chain of send-email → notify');
    expect(failure(() => Job.assertBatched(() => true))).toContain('Expected a batch');
    await Job.chain([new Notify({ who: 'x' })]).dispatch();
    expect(failure(() => Job.assertChained([SendEmail]))).toContain('  - chain: notify on default {"who":"x"}');
  });

  it('fake([Class]) fakes only those classes; the others are stored', async () => {
    Job.fake([SendEmail]);
    await SendEmail.dispatch({ to: 'a@example.com' });
    await ResizeImage.dispatch({ path: '1.png' });
    await ResizeImage.dispatchMany([{ path: '2.png' }]);
    Job.assertDispatched(SendEmail);
    Job.assertNotDispatched(ResizeImage);
    expect(await stored()).toBe(2);
    // A chain is faked whole, its catch job too, whatever the classes.
    await Job.chain([new ResizeImage({ path: '3.png' })]).catch(new Notify({ who: 'ops' })).dispatch();
    expect(Job.assertChained([ResizeImage]).catch?.name).toBe('notify');
    expect(await stored()).toBe(2);
    await db.knex(db.table).delete();
  });

  it('restore() stores again, and the assertions say the fake is off', async () => {
    Job.fake();
    Job.restore();
    await SendEmail.dispatch({ to: 'a@example.com' });
    expect(await stored()).toBe(1);
    expect(() => Job.assertNothingDispatched()).toThrow(/Job\.fake\(\) is not on/);
    await db.knex(db.table).delete();
  });

  it('fake() again forgets what it recorded', async () => {
    Job.fake();
    await SendEmail.dispatch({ to: 'a@example.com' });
    Job.fake();
    Job.assertNothingDispatched();
  });

  it('is typed: a predicate gets the class\'s job object', () => {
    expectTypeOf(Job.assertDispatched<typeof SendEmail>).parameter(1).toEqualTypeOf<((job: SendEmail, d: ReturnType<typeof Job.dispatched>[number]) => boolean) | undefined>();
  });
});
