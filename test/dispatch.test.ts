import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Jobable } from '../src/api/jobable.ts';
import { Job } from '../src/api/job-facade.ts';
import { Event } from '../src/api/events.ts';
import { configure, closeRuntime, type Runtime } from '../src/api/runtime.ts';
import { DateError, PayloadError, UnknownJobError } from '../src/infra/errors.ts';
import { kebabCase } from '../src/infra/naming.ts';
import { TestClock } from './helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

class SendEmail extends Jobable<{ to: string; subject?: string }> {
  async run() {}
}
class GenerateReport extends Jobable<{ type: string; month: string }> {
  uniqueId() {
    return `${this.get('type')}:${this.get('month')}`;
  }
  async run() {}
}
class HTMLToPDF extends Jobable {
  async run() {}
}
class Renamed extends Jobable {
  static jobName = 'custom-name';
  async run() {}
}

let db: TestDatabase;
let rt: Runtime;
const clock = new TestClock();
const rows = () => db.knex(db.table).select('*').orderBy('id');
/** A payload whose innermost object is `levels` objects below it (so `levels + 1` deep). */
function nested(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let i = 0; i < levels; i++) node = (node.a = {}) as Record<string, unknown>;
  return root;
}

const settings = () => ({ database: db.url, table: db.table, failed_table: db.failedTable, timezone: 'Asia/Jakarta', max_payload_bytes: 1000 });

beforeAll(async () => {
  db = await createTestDatabase('sqlite');
  rt = await configure(
    settings(),
    { root: db.dir, clock, logger: pino({ level: 'silent' }) },
  );
});
afterAll(async () => {
  await closeRuntime();
  await db.drop();
});
beforeEach(async () => {
  await db.knex(db.table).delete();
});

describe('job names', () => {
  it('are the kebab-case of the class name, or static jobName', () => {
    expect(kebabCase('SendEmail')).toBe('send-email');
    expect(kebabCase('GenerateReport')).toBe('generate-report');
    expect(kebabCase('HTMLToPDF')).toBe('html-to-pdf');
    expect(kebabCase('GenerateMonthlyInvoicesJob')).toBe('generate-monthly-invoices-job');
    expect(HTMLToPDF.nameOfJob).toBe('html-to-pdf');
    expect(Renamed.nameOfJob).toBe('custom-name');
  });
});

describe('payload access', () => {
  it('reads keys, dot paths and fallbacks', () => {
    const job = new (class extends Jobable<Record<string, unknown>> {
      async run() {}
    })({ to: 'a@b.c', data: { user: { name: 'John' } }, zero: 0 });
    expect(job.get('to')).toBe('a@b.c');
    expect(job.get('data.user.name')).toBe('John');
    expect(job.get('zero', 5)).toBe(0);
    expect(job.get('missing', 'fallback')).toBe('fallback');
    expect(job.get('data.nope.deeper')).toBeUndefined();
  });
});

describe('dispatch', () => {
  it('stores the job once the synchronous chain is done, and resolves with it', async () => {
    const pending = SendEmail.dispatch({ to: 'a@b.c' }).onQueue('high');
    expect(await rows()).toHaveLength(0);
    const result = await pending;
    expect(result).toMatchObject({ name: 'send-email', queue: 'high' });
    const [row] = await rows();
    expect(row).toMatchObject({ id: Number(result.id), name: 'send-email', queue: 'high', payloads: '{"to":"a@b.c"}', attempts: 0 });
  });

  it('stores a snapshot of the payload taken at dispatch', async () => {
    const payload = { to: 'a@b.c' };
    const pending = SendEmail.dispatch(payload);
    payload.to = 'changed@b.c';
    await pending;
    expect((await rows())[0].payloads).toBe('{"to":"a@b.c"}');
  });

  it('computes the overlap key from the snapshot too', async () => {
    const payload = { type: 'monthly', month: '2030-07' };
    const pending = GenerateReport.dispatch(payload).withoutOverlapping();
    payload.month = '2099-01';
    await pending;
    expect((await rows())[0].overlap_key).toBe('generate-report#monthly:2030-07@default');
  });

  it('accepts the snake_case chain of ported code', async () => {
    const r1 = await GenerateReport.dispatch_at('2030-01-01 10:00', { type: 'monthly', month: '2030-01' }).on_queue('low').without_overlapping();
    const r2 = await GenerateReport.dispatch({ type: 'monthly', month: '2030-01' }).on_queue('low').without_overlapping();
    expect(r1.queue).toBe('low');
    expect(r2).toMatchObject({ skipped: 'overlapping', existingId: r1.id });
  });

  it('reads when as a Date, ISO-8601, local time in the configured timezone, or Unix seconds', async () => {
    const a = await SendEmail.dispatch({ to: 'a@b.c' }, new Date('2030-05-01T00:00:00Z'));
    const b = await SendEmail.dispatch({ to: 'a@b.c' }, '2030-05-01T07:00:00+07:00');
    const c = await SendEmail.dispatch({ to: 'a@b.c' }, '2030-05-01 07:00');
    const d = await SendEmail.dispatchAt('2030-05-01 07:00:00', { to: 'a@b.c' });
    const e = await SendEmail.dispatch({ to: 'a@b.c' }, Date.UTC(2030, 4, 1) / 1000);
    const times = [a, b, c, d, e].map((r) => r.scheduledAt!.toISOString());
    expect(new Set(times)).toEqual(new Set(['2030-05-01T00:00:00.000Z']));
  });

  it('runs a past time now', async () => {
    const r = await SendEmail.dispatch({ to: 'a@b.c' }, '2001-01-01 00:00');
    expect(Math.abs(r.scheduledAt!.getTime() - clock.now())).toBeLessThan(1000);
  });

  it('keeps a readable prefix and a hash of an overlap key longer than its 191-character column', async () => {
    const long = 'x'.repeat(400);
    const first = await GenerateReport.dispatch({ type: long, month: '2030-01' }).withoutOverlapping();
    const again = await GenerateReport.dispatch({ type: long, month: '2030-01' }).withoutOverlapping();
    const other = await GenerateReport.dispatch({ type: long, month: '2030-02' }).withoutOverlapping();
    expect(again).toMatchObject({ skipped: 'overlapping', existingId: first.id });
    expect(other.id).toBeTruthy();
    const keys = (await rows()).map((r: { overlap_key: string }) => r.overlap_key);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(/^generate-report#x{100,}~[0-9a-f]{40}$/);
    expect(keys[0]!.length).toBeLessThanOrEqual(191);
  });

  it('refuses a job name longer than every store holds, and stores nothing', async () => {
    Event.listen(`rakit.jobs.run: ${'n'.repeat(192)}`, () => undefined);
    await expect(Job.dispatch('n'.repeat(192), {})).rejects.toThrow(/is 192 characters: at most 191 fit every store/);
    expect(await rows()).toHaveLength(0);
  });

  it('delays by seconds', async () => {
    const r = await SendEmail.dispatch({ to: 'a@b.c' }).delay(90);
    expect(r.scheduledAt!.getTime() - clock.now()).toBeGreaterThan(89_000);
  });

  it.each([
    ['20261231'], ['1700000000'], [' 1700000000.5 '],
  ])('refuses the digit-only string %j as ambiguous (a date or Unix seconds?) and stores nothing', async (when) => {
    await expect(SendEmail.dispatch({ to: 'a@b.c' }, when)).rejects.toThrow(/is ambiguous \(a date or Unix seconds\?\): give Unix seconds as a number/);
    expect(await rows()).toHaveLength(0);
  });

  it.each([
    ['tomorrow-ish'], ['2030-13-45 10:00'], ['31/12/2030'], [''],
  ])('refuses the time %j and stores nothing', async (when) => {
    await expect(SendEmail.dispatch({ to: 'a@b.c' }, when)).rejects.toThrow(DateError);
    expect(await rows()).toHaveLength(0);
  });

  it.each([
    ['a function', { cb: () => 1 }, /is a function/],
    ['a BigInt', { n: 10n }, /BigInt/],
    ['a class instance', { m: new Map() }, /Map instance/],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })(), /cycle/],
    ['NaN', { n: Number.NaN }, /JSON cannot hold/],
    ['an array', [1, 2], /must be a JSON object/],
    ['too large', { big: 'x'.repeat(2000) }, /over the limit of 1000/],
    // Under the size limit; deeper than JSON.stringify can go (it would throw a RangeError).
    ['5,000 levels of nesting below it', nested(5000), /^The payload is nested 5001 levels deep, over the limit of 1000: send flatter data$/],
    ['64 levels of nesting below it', nested(64), /nested 65 levels deep, over the limit of 64: send flatter data \(or raise max_payload_depth in configure\(\), up to 1000\)/],
  ])('refuses a payload with %s and stores nothing', async (_label, payload, message) => {
    await expect(SendEmail.dispatch(payload as never)).rejects.toThrow(PayloadError);
    await expect(SendEmail.dispatch(payload as never)).rejects.toThrow(message);
    expect(await rows()).toHaveLength(0);
  });

  it('accepts a payload at the depth limit, and cuts a long input an error repeats', async () => {
    await SendEmail.dispatch(nested(63) as never);
    expect(await rows()).toHaveLength(1);
    const error = await SendEmail.dispatch({ to: 'a@b.c' }).onQueue('q'.repeat(300)).then(() => null, (e: unknown) => e as Error);
    expect(error?.message).toBe(`Bad queue name "${'q'.repeat(80)}…": start with a letter or digit, then letters, digits and . _ : - (at most 64)`);
  });

  it('keeps Dates in payloads as ISO strings', async () => {
    await SendEmail.dispatch({ to: 'a@b.c', at: new Date('2030-01-01T00:00:00Z') } as never);
    expect((await rows())[0].payloads).toBe('{"to":"a@b.c","at":"2030-01-01T00:00:00.000Z"}');
  });

  it('refuses an unknown name through the facade, naming the nearest known names', async () => {
    await SendEmail.dispatch({ to: 'x@y.z' });
    await db.knex(db.table).delete();
    const error = await Job.dispatch('send-emial', {}).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownJobError);
    expect((error as Error).message).toMatch(/Unknown job "send-emial".*did you mean "send-email"/);
    expect(await rows()).toHaveLength(0);
  });

  it('dispatches to a legacy listener by name with Job.add and Job.dispatch', async () => {
    Event.listen('rakit.jobs.run: send-notification', () => undefined);
    await Job.add('send-notification', { to: 'a@b.c' });
    await Job.dispatch('send-notification', { to: 'b@b.c' }).onQueue('low');
    expect((await rows()).map((r) => [r.name, r.queue])).toEqual([['send-notification', 'default'], ['send-notification', 'low']]);
  });

  it('Job.run works off the due jobs of one name in this process', async () => {
    const seen: unknown[] = [];
    Event.forget();
    Event.listen('rakit.jobs.run: tally', (payload: unknown) => {
      seen.push(payload);
    });
    await Job.dispatch('tally', { n: 1 });
    await Job.dispatch('tally', { n: 2 });
    await SendEmail.dispatch({ to: 'stays@b.c' });
    const summary = await Job.run('tally');
    expect(summary).toMatchObject({ done: 2, reason: 'empty' });
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect((await rows()).map((r) => r.name)).toEqual(['send-email']);
  });

  it('withoutOverlapping keys on uniqueId() when the class has one', async () => {
    const a = await GenerateReport.dispatch({ type: 'monthly', month: '2030-01' }).withoutOverlapping();
    const b = await GenerateReport.dispatch({ type: 'monthly', month: '2030-02' }).withoutOverlapping();
    const c = await GenerateReport.dispatch({ type: 'monthly', month: '2030-01' }).withoutOverlapping();
    expect(a.id && b.id).toBeTruthy();
    expect(c).toMatchObject({ skipped: 'overlapping', existingId: a.id });
    expect((await rows()).map((r) => r.overlap_key)).toEqual(['generate-report#monthly:2030-01@default', 'generate-report#monthly:2030-02@default']);
  });

  it('withoutOverlapping keys on the name and queue when the class has no uniqueId()', async () => {
    const a = await SendEmail.dispatch({ to: 'a@b.c' }).withoutOverlapping();
    const b = await SendEmail.dispatch({ to: 'b@b.c' }).withoutOverlapping();
    const c = await SendEmail.dispatch({ to: 'b@b.c' }).onQueue('high').withoutOverlapping();
    expect(a.id).toBeTruthy();
    expect(b.skipped).toBe('overlapping');
    expect(c.id).toBeTruthy();
  });

  it('stores one job when 30 overlapping dispatches race', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, () =>
      GenerateReport.dispatch({ type: 'daily', month: '2030-03' }).withoutOverlapping()));
    expect(results.filter((r) => r.id)).toHaveLength(1);
    expect(await rows()).toHaveLength(1);
  });

  it('rejects when the store fails, never silently', async () => {
    await db.knex.schema.renameTable(db.table, `${db.table}_away`);
    try {
      await expect(SendEmail.dispatch({ to: 'a@b.c' })).rejects.toThrow(/Table ".*" is missing: run `rakit job:table && rakit migrate`/);
    } finally {
      await db.knex.schema.renameTable(`${db.table}_away`, db.table);
      // The runtime remembers the failed check only until the next call; a new dispatch works again.
      await rt.driver.stats();
    }
  });
});

describe('the dispatch log', () => {
  const withLogger = async (level: string, body: () => Promise<void>) => {
    const lines: Record<string, unknown>[] = [];
    const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
    await configure(
      settings(),
      { root: db.dir, clock, logger: pino({ level }, destination) },
    );
    try {
      await body();
    } finally {
      rt = await configure(
        settings(),
        { root: db.dir, clock, logger: pino({ level: 'silent' }) },
      );
    }
    return lines;
  };

  it('says "Job added" with the id, queue and due time at debug level, and nothing at the default info', async () => {
    let added: { id?: string; scheduledAt?: Date } = {};
    const debug = await withLogger('debug', async () => {
      added = await SendEmail.dispatch({ to: 'log@b.c' }).onQueue('mail');
    });
    expect(debug).toEqual([expect.objectContaining({
      msg: 'Job added: send-email', id: added.id, job: 'send-email', queue: 'mail', scheduledAt: added.scheduledAt!.toISOString(),
    })]);
    expect(await withLogger('info', async () => void (await SendEmail.dispatch({ to: 'quiet@b.c' })))).toEqual([]);
  });
});
