/**
 * The CLI through its own entry in this process (helpers/in-process.ts): SPEC §9's usage and
 * config errors (one line, exit 2, stored jobs unchanged), the output formats of dispatch,
 * status and failed, help and version, and a SQLite app taken from job:table to its jobs run
 * by an in-process worker. The same cases through the real binary are in bad-input.test.ts
 * and scenario.test.ts (full tier).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { rakitInProcess } from '../helpers/in-process.ts';
import { missingClientMessage, storeOf } from '../../src/drivers/store-clients.ts';

const CONFIG = { database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 };
/** No store chosen by the environment of whoever runs the tests. */
const CLEAN = { JOB_DRIVER: undefined, DATABASE_URL: undefined, REDIS_URL: undefined, MEMCACHED_SERVERS: undefined, RAKIT_LOG_LEVEL: 'error' };
const apps: TestApp[] = [];
let app: TestApp;

const rakit = (args: string[], env: NodeJS.ProcessEnv = {}, dir = app.dir) => rakitInProcess(dir, args, { ...CLEAN, ...env });

/** A fresh app with `config` (a module is imported once per process: a new config is a new app). */
function appWith(config: Record<string, unknown>): TestApp {
  const made = makeApp(config);
  apps.push(made);
  return made;
}

async function snapshot(): Promise<string> {
  const status = await rakit(['job:status', '--json']);
  const failed = await rakit(['job:failed', '--json']);
  return `${status.stdout}\n${failed.stdout}`;
}

beforeAll(async () => {
  app = appWith(CONFIG);
  for (const args of [['job:table'], ['migrate'], ['job:dispatch', 'record', '--payload', '{"tag":"stored"}']]) {
    const result = await rakit(args);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  }
}, 180_000); // the first command imports (and vitest transforms) the whole CLI
afterAll(() => {
  for (const made of apps) made.remove();
});

type Case = [label: string, args: string[], message: RegExp];

const usage: Case[] = [
  ['an unknown command', ['job:nope'], /unknown command 'job:nope'/],
  ['an unknown flag', ['job:runall', '--bogus'], /unknown option '--bogus'/],
  ['a non-numeric --retries', ['job:runall', '--retries=abc'], /--retries <n>.*'abc' is invalid\. give a whole number ≥ 1/],
  ['a negative --sleep', ['job:runall', '--sleep=-5'], /--sleep <ms>.*'-5' is invalid\. give a whole number ≥ 0/],
  ['a zero --timeout', ['job:runall', '--timeout=0'], /--timeout <s>.*'0' is invalid\. give seconds > 0/],
  ['an empty queue in --queue', ['job:runall', '--queue=high,,low'], /"" is not a queue name: give names separated by commas/],
  ['payload that is not JSON', ['job:dispatch', 'record', '--payload', '{tag:1'], /not JSON .*quote it/],
  ['payload that is an array', ['job:dispatch', 'record', '--payload', '[1,2]'], /give a JSON object/],
  ['a payload too large', ['job:dispatch', 'record', '--payload', JSON.stringify({ tag: 'x'.repeat(70_000) })], /The payload is \d+ bytes, over the limit of 65536/],
  ['a bad date', ['job:dispatch', 'record', '--at', 'next tuesday'], /Cannot read "next tuesday" as a time: use ISO-8601/],
  ['a digit-only --at', ['job:dispatch', 'record', '--at', '20261231'], /"20261231" is ambiguous: for Unix seconds write --at @20261231, for a date --at 2026-12-31/],
  ['--delay together with --at', ['job:dispatch', 'record', '--at', '2031-01-01', '--delay', '60'], /option '--delay <s>' cannot be used with option '--at <when>'/],
  ['an unknown job name', ['job:dispatch', 'recrod'], /Unknown job "recrod".*did you mean "record"\?/],
  ['make:job of a name rakit uses', ['make:job', 'Jobable'], /"Jobable" is taken \(by rakit\): choose another class name, e\.g\. JobableJob/],
  ['make:job of a folder that is not PascalCase', ['make:job', 'admin/SendReport'], /use a PascalCase class name/],
];

describe('usage errors, in process', () => {
  it.each(usage)('%s: exit 2, the message first, the stored jobs unchanged', async (_label, args, message) => {
    const before = await snapshot();
    const result = await rakit(args);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter(Boolean)[0]).toMatch(message);
    expect(await snapshot()).toBe(before);
  });
});

describe('config errors, in process', () => {
  const configs: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown key', { ...CONFIG, drivr: 'redis' }, /application\/config\/job\.ts: unknown key "drivr" \(did you mean "driver"\?\)/],
    ['a value of the wrong type', { ...CONFIG, max_retries: 'three' }, /job\.ts: "max_retries" must be a whole number ≥ 0, got "three"/],
    ['an unknown driver', { ...CONFIG, driver: 'mongo' }, /"driver" must be one of database, redis, file, memcached, sync, got "mongo"/],
    ['a bad timezone', { ...CONFIG, timezone: 'Mars/Olympus' }, /"timezone": Unknown timezone "Mars\/Olympus"/],
    ['a SQLite folder that does not exist', { ...CONFIG, database: 'sqlite:/nonexistent/dir/x.sqlite' }, /the folder of the SQLite file \/nonexistent\/dir\/x\.sqlite does not exist: create it/],
  ];
  it.each(configs)('%s: one line naming the file and key, exit 2', async (_label, config, message) => {
    const result = await rakit(['job:status'], {}, appWith(config).dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^rakit: /);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a missing config file says which file to create', async () => {
    const bare = appWith(CONFIG);
    const result = await rakit(['job:status'], {}, path.join(bare.dir, 'storage'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/No configuration: .*application\/config\/job\.ts is missing/);
  });

  it('an environment override is checked like the file: JOB_DRIVER and a missing table', async () => {
    const driver = await rakit(['job:status'], { JOB_DRIVER: 'mongo' });
    expect(driver.code).toBe(2);
    expect(driver.stderr).toMatch(/"driver" must be one of database, redis, file, memcached, sync, got "mongo"/);
    const table = await rakit(['job:runall', '--once', '--in-process'], { DATABASE_URL: 'sqlite:storage/empty.sqlite' });
    expect(table.code).toBe(2);
    expect(table.stderr.trimEnd().split('\n').at(-1)).toBe('rakit: Table "rakit_jobs" is missing: run `rakit job:table && rakit migrate`');
  });

  it('names the client package a store needs, with the npm install to run', () => {
    expect(storeOf('redis', undefined)).toBe('redis');
    expect(storeOf('database', 'postgres://u@h/db')).toBe('postgres');
    expect(storeOf(undefined, 'mariadb://u@h/db')).toBe('mysql');
    expect(storeOf('database', 'sqlite:storage/x.sqlite')).toBeNull();
    expect(storeOf('file', 'mysql://u@h/db')).toBeNull();
    expect(missingClientMessage('redis')).toBe('the redis store needs the ioredis package, which is not installed: run npm install ioredis@5');
    expect(missingClientMessage('memcached')).toBe('the memcached store needs the memcache-client package, which is not installed: run npm install memcache-client@1');
  });
});

describe('output formats, in process', () => {
  it('job:dispatch --json gives the stored job, with --at @<Unix seconds> read as seconds', async () => {
    const result = await rakit(['job:dispatch', 'record', '--queue=unix', '--at', '@1924992000', '--json', '--payload', '{"tag":"unix"}']);
    expect(result.code, result.stderr).toBe(0);
    const job = JSON.parse(result.stdout) as { scheduledAt: string; queue: string; name: string };
    expect(job).toMatchObject({ scheduledAt: '2031-01-01T00:00:00.000Z', queue: 'unix', name: 'record' });
    expect((await rakit(['job:clear', '--queue=unix'])).code).toBe(0);
  });

  it('job:status as JSON and as a table', async () => {
    const json = await rakit(['job:status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).queues).toEqual([expect.objectContaining({ queue: 'default', ready: 1 })]);
    const table = await rakit(['job:status']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/default\s+.*1/);
  });

  it('help of every command exits 0 with its usage; --version prints the version', async () => {
    for (const command of ['job:table', 'migrate', 'job:runall', 'job:run', 'job:dispatch', 'job:failed', 'job:retry', 'job:forget', 'job:flush', 'job:status', 'job:clear', 'make:job', 'init', 'schedule:run']) {
      const result = await rakit([command, '--help']);
      expect(result.code, command).toBe(0);
      expect(result.stdout).toContain(`Usage: rakit ${command}`);
    }
    const version = await rakit(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')).version);
  });

  it('runs the stored jobs in an in-process worker, then lists a failure as JSON', async () => {
    const worked = await rakit(['job:runall', '--stop-when-empty', '--in-process']);
    expect(worked.code, worked.stderr).toBe(0);
    expect(app.ranLog()).toEqual(['stored']);
    expect((await rakit(['job:dispatch', 'always-fails'])).code).toBe(0);
    expect((await rakit(['job:runall', '--stop-when-empty', '--in-process', '--retries=1'])).code).toBe(0);
    const failed = await rakit(['job:failed', '--json']);
    expect(failed.code, failed.stderr).toBe(0);
    expect(JSON.parse(failed.stdout)).toEqual([expect.objectContaining({ name: 'always-fails' })]);
    expect(existsSync(path.join(app.dir, 'storage', 'jobs.sqlite'))).toBe(true);
  });
});
