/**
 * SPEC §9 through the real binary: each case gets a one-line error saying what was wrong and
 * what to do, a non-zero exit, and leaves the stored jobs exactly as they were.
 */
import { existsSync, rmSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, writeConfig, type TestApp } from '../helpers/app.ts';

let app: TestApp;
const CONFIG = { database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 };

/** Every stored job and failed job, to compare before and after. */
async function snapshot(): Promise<string> {
  const status = await app.rakit(['job:status', '--json']);
  const failed = await app.rakit(['job:failed', '--json']);
  return `${status.stdout}\n${failed.stdout}`;
}

beforeAll(async () => {
  app = makeApp(CONFIG);
  expect((await app.rakit(['job:table'])).code).toBe(0);
  expect((await app.rakit(['migrate'])).code).toBe(0);
  expect((await app.rakit(['job:dispatch', 'record', '--payload', '{"tag":"stored"}'])).code).toBe(0);
  expect((await app.rakit(['job:dispatch', 'record', '--payload', '{"tag":"later"}', '--queue', 'low', '--at', '2031-01-01 00:00'])).code).toBe(0);
});
afterAll(() => app?.remove());

type Case = [label: string, args: string[], code: number, message: RegExp, setup?: () => void, restore?: () => void];

const cases: Case[] = [
  ['an unknown command', ['job:nope'], 2, /unknown command 'job:nope'/],
  ['an unknown flag', ['job:runall', '--bogus'], 2, /unknown option '--bogus'/],
  ['a non-numeric --retries', ['job:runall', '--retries=abc'], 2, /--retries <n>.*'abc' is invalid\. give a whole number ≥ 1/],
  ['a negative --sleep', ['job:runall', '--sleep=-5'], 2, /--sleep <ms>.*'-5' is invalid\. give a whole number ≥ 0/],
  ['a zero --timeout', ['job:runall', '--timeout=0'], 2, /--timeout <s>.*'0' is invalid\. give seconds > 0/],
  ['an empty queue in --queue', ['job:runall', '--queue=high,,low'], 2, /"" is not a queue name: give names separated by commas/],
  ['a queue name with spaces', ['job:runall', '--queue=high low'], 2, /"high low" is not a queue name/],
  ['payload that is not JSON', ['job:dispatch', 'record', '--payload', '{tag:1'], 2, /not JSON .*quote it/],
  ['payload that is an array', ['job:dispatch', 'record', '--payload', '[1,2]'], 2, /give a JSON object/],
  ['a payload too large', ['job:dispatch', 'record', '--payload', JSON.stringify({ tag: 'x'.repeat(70_000) })], 2, /The payload is \d+ bytes, over the limit of 65536/],
  ['a bad date', ['job:dispatch', 'record', '--at', 'next tuesday'], 2, /Cannot read "next tuesday" as a time: use ISO-8601/],
  ['a digit-only --at (a date or Unix seconds?)', ['job:dispatch', 'record', '--at', '20261231'], 2,
    /'20261231' is invalid\. "20261231" is ambiguous: for Unix seconds write --at @20261231, for a date --at 2026-12-31/],
  ['Unix seconds as --at without @', ['job:dispatch', 'record', '--at', '1700000000'], 2, /"1700000000" is ambiguous: for Unix seconds write --at @1700000000/],
  ['a --delay that is not a number', ['job:dispatch', 'record', '--delay', 'abc'], 2, /option '--delay <s>' argument 'abc' is invalid\. give seconds ≥ 0, e\.g\. --delay 90/],
  ['a negative --delay', ['job:dispatch', 'record', '--delay', '-5'], 2, /'-5' is invalid\. give seconds ≥ 0/],
  ['--delay together with --at', ['job:dispatch', 'record', '--at', '2031-01-01', '--delay', '60'], 2, /option '--delay <s>' cannot be used with option '--at <when>'/],
  ['make:job of a name rakit uses', ['make:job', 'Jobable'], 2, /"Jobable" is taken \(by rakit\): choose another class name, e\.g\. JobableJob/],
  ['make:job Job', ['make:job', 'Job'], 2, /"Job" is taken \(by rakit\)/],
  ['make:job of a JavaScript global', ['make:job', 'Map'], 2, /"Map" is taken \(by a JavaScript global\): choose another class name, e\.g\. MapJob/],
  ['make:job Event (rakit and a global)', ['make:job', 'Event'], 2, /"Event" is taken \(by rakit\)/],
  ['make:job of a folder that is not PascalCase', ['make:job', 'admin/SendReport'], 2, /use a PascalCase class name, e\.g\. SendInvoice, or Admin\/SendReport for a subfolder/],
  ['make:job climbing out of application/jobs', ['make:job', '../SendReport'], 2, /use a PascalCase class name/],
  ['a SQLite file in a folder that does not exist', ['job:status'], 2, /database: the folder of the SQLite file \/nonexistent\/dir\/x\.sqlite does not exist: create it/,
    () => writeConfig(app.dir, { ...CONFIG, database: 'sqlite:/nonexistent/dir/x.sqlite' }), () => writeConfig(app.dir, CONFIG)],
  ['an unknown job name', ['job:dispatch', 'recrod'], 2, /Unknown job "recrod".*did you mean "record"\?/],
  ['an unknown job name for job:run', ['job:run', 'flakey'], 2, /Unknown job "flakey".*did you mean "flaky"\?/],
  ['a missing config file', ['job:status'], 2, /No configuration: .*application\/config\/job\.ts is missing/,
    () => renameSync(path.join(app.dir, 'application/config/job.ts'), path.join(app.dir, 'application/config/job.off')),
    () => renameSync(path.join(app.dir, 'application/config/job.off'), path.join(app.dir, 'application/config/job.ts'))],
  ['an unknown config key', ['job:status'], 2, /application\/config\/job\.ts: unknown key "drivr" \(did you mean "driver"\?\)/,
    () => writeConfig(app.dir, { ...CONFIG, drivr: 'redis' }), () => writeConfig(app.dir, CONFIG)],
  ['a config value of the wrong type', ['job:runall', '--once'], 2, /job\.ts: "max_retries" must be a whole number ≥ 0, got "three"/,
    () => writeConfig(app.dir, { ...CONFIG, max_retries: 'three' }), () => writeConfig(app.dir, CONFIG)],
  ['an unknown driver', ['job:status'], 2, /"driver" must be one of database, redis, file, memcached, sync, got "mongo"/,
    () => writeConfig(app.dir, { ...CONFIG, driver: 'mongo' }), () => writeConfig(app.dir, CONFIG)],
  ['a bad timezone', ['job:status'], 2, /"timezone": Unknown timezone "Mars\/Olympus"/,
    () => writeConfig(app.dir, { ...CONFIG, timezone: 'Mars/Olympus' }), () => writeConfig(app.dir, CONFIG)],
  ['a job module that throws on import', ['job:runall', '--once'], 2, /Job module application\/jobs\/Broken\.ts failed to import: kaboom at import/,
    () => app.write('application/jobs/Broken.ts', "throw new Error('kaboom at import');\n"),
    () => rmSync(path.join(app.dir, 'application/jobs/Broken.ts'))],
  ['two job classes with one name', ['job:runall', '--once'], 2, /Two job classes are named "record": application\/jobs\/Record\.ts and application\/jobs\/sub\/Record\.ts/,
    () => app.write('application/jobs/sub/Record.ts', "import { Jobable } from 'rakit';\nexport class Record extends Jobable { run() {} }\n"),
    () => rmSync(path.join(app.dir, 'application/jobs/sub'), { recursive: true })],
];

describe('bad input', () => {
  it.each(cases)('%s', async (_label, args, code, message, setup, restore) => {
    const before = await snapshot();
    setup?.();
    let result;
    try {
      result = await app.rakit(args);
    } finally {
      restore?.();
    }
    expect(result.code).toBe(code);
    const errorLines = result.stderr.split('\n').filter(Boolean);
    expect(errorLines[0]).toMatch(message);
    expect(await snapshot()).toBe(before);
  });

  it('reads --at @<Unix seconds> as Unix seconds', async () => {
    const result = await app.rakit(['job:dispatch', 'record', '--queue=unix', '--at', '@1924992000', '--json', '--payload', '{"tag":"unix"}']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).scheduledAt).toBe('2031-01-01T00:00:00.000Z');
    await app.rakit(['job:clear', '--queue=unix']);
  });

  it('never creates the folder of a mistyped SQLite path', async () => {
    const result = await app.rakit(['job:status'], { DATABASE_URL: `sqlite:${app.dir}/storag/x.sqlite` });
    expect(result.code).toBe(2);
    expect(existsSync(path.join(app.dir, 'storag'))).toBe(false);
  });

  it('names host and port of an unreachable database, and never its password', async () => {
    const before = await snapshot();
    const result = await app.rakit(['job:status'], { DATABASE_URL: 'mysql://root:s3cret-pw@127.0.0.1:1/test' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^rakit: Cannot reach the database at mysql2 root@127\.0\.0\.1:1\/test: .*ECONNREFUSED.* — start the server or fix DATABASE_URL/);
    expect(result.stderr + result.stdout).not.toContain('s3cret-pw');
    expect(await snapshot()).toBe(before);
  });

  it('names host and port of an unreachable Redis or memcached, and never a password', async () => {
    const before = await snapshot();
    const redis = await app.rakit(['job:status'], { JOB_DRIVER: 'redis', REDIS_URL: 'redis://:s3cret-pw@127.0.0.1:1/0' });
    expect(redis.code).toBe(1);
    expect(redis.stderr).toMatch(/^rakit: Cannot reach Redis at 127\.0\.0\.1:1\/0: .* — start Redis or fix REDIS_URL/);
    expect(redis.stderr + redis.stdout).not.toContain('s3cret-pw');
    const memcached = await app.rakit(['job:status'], { JOB_DRIVER: 'memcached', MEMCACHED_SERVERS: '127.0.0.1:1' });
    expect(memcached.code).toBe(1);
    expect(memcached.stderr).toMatch(/^rakit: Cannot reach memcached at 127\.0\.0\.1:1: .* — start memcached or fix MEMCACHED_SERVERS/);
    expect(await snapshot()).toBe(before);
  });

  it('tells the user to create the tables when they are missing', async () => {
    const result = await app.rakit(['job:runall', '--once'], { DATABASE_URL: 'sqlite:storage/empty.sqlite' });
    expect(result.code).toBe(2);
    // Log lines (on stderr too) come first; the error is the last line.
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('rakit: Table "rakit_jobs" is missing: run `rakit job:table && rakit migrate`');
  });

  it('prints help for every command and exits 0', async () => {
    for (const command of ['job:table', 'migrate', 'job:runall', 'job:run', 'job:dispatch', 'job:failed', 'job:retry', 'job:forget', 'job:flush', 'job:status', 'job:clear', 'make:job']) {
      const result = await app.rakit([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout).toContain(`Usage: rakit ${command}`);
    }
  });
});
