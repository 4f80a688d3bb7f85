/**
 * Property-based tests over what users type and send: any payload is stored exactly or refused
 * with a PayloadError (nothing stored); any `when` is a time or a DateError; any flag value is
 * accepted within its bounds or refused with commander's InvalidArgumentError; random flags to
 * the real binary exit 2 with one line and change nothing.
 */
import fc from 'fast-check';
import { InvalidArgumentError } from 'commander';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backoffList, jsonObject, queueList, seconds, wholeNumber, type QueueList } from '../src/commands/options.ts';
import { DateError, PayloadError } from '../src/infra/errors.ts';
import { Jobable } from '../src/api/jobable.ts';
import { closeRuntime, configure } from '../src/api/runtime.ts';
import { parseWhen } from '../src/infra/when.ts';
import { makeApp, type TestApp } from './helpers/app.ts';
import { TestClock } from './helpers/clock.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';

class Echo extends Jobable<Record<string, unknown>> {
  async run() {}
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('sqlite');
  await configure({ database: db.url, table: db.table, failed_table: db.failedTable, max_payload_bytes: 4096 },
    { root: db.dir, clock: new TestClock(), logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await closeRuntime();
  await db.drop();
});

const count = async () => Number(((await db.knex(db.table).count({ n: '*' })) as [{ n: number }])[0].n);

describe('dispatch payloads', () => {
  it('stores any JSON object exactly as JSON.stringify gives it back', async () => {
    await fc.assert(fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }), async (payload) => {
      const before = await count();
      const result = await Echo.dispatch(payload).then((r) => r, (e: unknown) => e);
      if (result instanceof PayloadError) {
        expect(result.message).toMatch(/over the limit of 4096/);
        expect(await count()).toBe(before);
        return;
      }
      const row = await db.knex(db.table).where('id', (result as { id: string }).id).first();
      expect(JSON.parse(row.payloads)).toEqual(JSON.parse(JSON.stringify(payload)));
    }), { numRuns: 150 });
  });

  it('refuses anything else with a PayloadError and stores nothing', async () => {
    const weird = fc.oneof(
      fc.anything({ withBigInt: true, withMap: true, withSet: true, withBoxedValues: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true }),
      fc.func(fc.integer()),
      fc.constant(Symbol('s')),
    );
    await fc.assert(fc.asyncProperty(fc.oneof(weird, fc.dictionary(fc.string(), weird, { minKeys: 1, maxKeys: 3 })), async (payload) => {
      const before = await count();
      const result = await Echo.dispatch(payload as Record<string, unknown>).then((r) => r, (e: unknown) => e);
      if (result instanceof Error) {
        expect(result).toBeInstanceOf(PayloadError);
        expect(await count()).toBe(before);
      } else {
        const row = await db.knex(db.table).where('id', (result as { id: string }).id).first();
        expect(JSON.parse(row.payloads)).toEqual(JSON.parse(JSON.stringify(payload ?? {})));
      }
    }), { numRuns: 200 });
  });
});

describe('dispatch times', () => {
  it('reads any string as a time or refuses it with a DateError', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => {
      try {
        expect(Number.isFinite(parseWhen(text, 'Asia/Jakarta'))).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(DateError);
      }
    }), { numRuns: 1000 });
  });

  it('gives back the same instant for a Date, its ISO string, its Unix seconds, and its local time', () => {
    fc.assert(fc.property(fc.date({ min: new Date('1971-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }), (date) => {
      const ms = Math.floor(date.getTime() / 1000) * 1000;
      const d = new Date(ms);
      const jakarta = new Date(ms + 7 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
      expect(parseWhen(d, 'UTC')).toBe(ms);
      expect(parseWhen(d.toISOString(), 'UTC')).toBe(ms);
      expect(parseWhen(ms / 1000, 'UTC')).toBe(ms);
      expect(parseWhen(jakarta, 'Asia/Jakarta')).toBe(ms);
    }), { numRuns: 500 });
  });
});

describe('flag values', () => {
  const parsers: [string, (v: string) => unknown, (v: unknown) => boolean][] = [
    ['whole numbers ≥ 1', wholeNumber(1), (v) => Number.isInteger(v) && (v as number) >= 1],
    ['whole numbers ≥ 0', wholeNumber(0), (v) => Number.isInteger(v) && (v as number) >= 0],
    ['seconds', seconds, (v) => typeof v === 'number' && v > 0 && Number.isFinite(v)],
    ['queue lists', queueList, (v) => {
      const { queues, weights } = v as QueueList;
      return queues.length > 0 && queues.every((q) => /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(q))
        && (weights === null || (weights.length === queues.length && weights.every((w) => Number.isInteger(w) && w >= 1 && w <= 1000)));
    }],
    ['backoff lists', backoffList, (v) => (Array.isArray(v) ? v : [v]).every((n) => typeof n === 'number' && n >= 0 && Number.isFinite(n))],
    ['JSON payloads', jsonObject, (v) => v !== null && typeof v === 'object' && !Array.isArray(v)],
  ];
  for (const [label, parse, valid] of parsers) {
    it(`accepts ${label} within bounds or refuses them with InvalidArgumentError`, () => {
      fc.assert(fc.property(fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String), fc.json()), (text) => {
        try {
          expect(valid(parse(text))).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidArgumentError);
        }
      }), { numRuns: 500 });
    });
  }
});

describe('random flags to the real binary', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = makeApp({ database: 'sqlite:storage/jobs.sqlite' });
    await app.rakit(['job:table']);
    await app.rakit(['migrate']);
    await app.rakit(['job:dispatch', 'record', '--payload', '{"tag":"kept"}']);
  });
  afterAll(() => app?.remove());

  it('exit 2 with one line of error, and the stored jobs stay as they were', async () => {
    const before = (await app.rakit(['job:status', '--json'])).stdout;
    const flag = fc.constantFrom('--retries', '--sleep', '--timeout', '--concurrency', '--processes', '--max-jobs', '--memory', '--queue', '--backoff');
    // Values wrong for every one of these flags (`abc` would be a fine queue name, so it is not here).
    const bad = fc.constantFrom('-1', '', ',', 'high,,low', '../x', ' ', '-0.5', '$(rm -rf /)');
    const samples = fc.sample(fc.tuple(flag, bad), { numRuns: 12, seed: 42 });
    for (const [name, value] of samples) {
      const run = await app.rakit(['job:runall', '--once', `${name}=${value}`]);
      expect([name, value, run.code]).toEqual([name, value, 2]);
      expect(run.stderr.split('\n').filter(Boolean)[0]).toMatch(/^error: option '--[a-z-]+ <[^>]+>' argument '.*' is invalid\. /);
    }
    expect((await app.rakit(['job:status', '--json'])).stdout).toBe(before);
  });
});
