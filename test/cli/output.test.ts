/**
 * What a person reads on a terminal (each command run under a pseudo-terminal by `script`):
 * a worker's per-job lines, the aligned job:status table, job:failed's short error column,
 * and the progress bar of `job:retry all` over thousands of failed jobs. In a pipe: stdout
 * holds the result only (one JSON document with --json), stderr the logs.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, REPO, type TestApp } from '../helpers/app.ts';

const run = promisify(execFile);
let app: TestApp;

beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50, backoff: 0 });
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
});
afterAll(() => app?.remove());

/** Runs rakit on an 80-column terminal; returns what the terminal showed, without colours. */
async function onTerminal(args: string): Promise<string> {
  const command = `stty cols 80; ${process.execPath} ${path.join(REPO, 'bin', 'rakit.js')} ${args}`;
  const { stdout } = await run('script', ['-qec', command, '/dev/null'], { cwd: app.dir, env: app.env, maxBuffer: 1 << 26 });
  // eslint-disable-next-line no-control-regex
  return stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

const TIME = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`;

describe('output on a terminal', () => {
  it('a worker prints one aligned line per attempt with time, job, id, queue, duration and DONE/RETRY/FAIL', async () => {
    await app.rakit(['job:dispatch', 'record', '--queue=high', '--payload={"tag":"a"}']);
    await app.rakit(['job:dispatch', 'always-fails']);
    const out = await onTerminal('job:runall --queue=high,default --stop-when-empty');
    const lines = out.split('\n').filter((l) => /(DONE|RETRY|FAIL)\s*/.test(l) && !l.includes('Worker stopped'));
    expect(lines[0]).toMatch(new RegExp(`^${TIME}  record +#1 +high +\\d+ ms DONE$`));
    expect(lines[1]).toMatch(new RegExp(`^${TIME}  always-fails +#2 +default +\\d+ ms RETRY +always fails on purpose$`));
    expect(lines[2]).toMatch(new RegExp(`^${TIME}  always-fails +#2 +default +\\d+ ms FAIL +always fails on purpose$`));
    expect(new Set(lines.map((l) => l.search(/DONE|RETRY|FAIL/))).size).toBe(1);
    expect(out).toMatch(new RegExp(`${TIME}  Worker stopped \\(empty\\): 1 done, 1 retried, 1 failed`));
  }, 30_000);

  it('job:status is an aligned table, and --json is for machines', async () => {
    await app.rakit(['job:dispatch', 'record', '--queue=emails', '--payload={"tag":"b"}']);
    const lines = (await onTerminal('job:status')).trim().split('\n');
    expect(lines[0]).toMatch(/^QUEUE +READY +SCHEDULED +RESERVED +FAILED +PAUSED$/);
    // `high` is empty now; it worked in the last hour (the test before), so it stays in sight.
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['QUEUE', 'default', 'emails', 'high', '(total)']);
    for (const column of ['READY', 'SCHEDULED', 'RESERVED', 'FAILED']) {
      const at = lines[0]!.indexOf(column);
      for (const line of lines.slice(1)) expect(line[at], `${column} in "${line}"`).toMatch(/\d/);
    }
    const json = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
    expect(json.queues).toContainEqual({ queue: 'emails', ready: 1, scheduled: 0, reserved: 0, failed: 0, paused: false });
  });

  it('job:failed cuts the error to the terminal width', async () => {
    const db = new Database(path.join(app.dir, 'storage', 'jobs.sqlite'));
    db.prepare('UPDATE rakit_failed_jobs SET exception = ?').run(`Error: ${'a very long message '.repeat(20)}\n    at somewhere`);
    db.close();
    const lines = (await onTerminal('job:failed')).trim().split('\n');
    expect(lines[0]).toMatch(/^ID +JOB +QUEUE +ATTEMPTS +FAILED AT +ERROR$/);
    expect(lines[1]).toMatch(/^1 +always-fails +default +2 +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC +Error: a very lon.*…$/);
    expect(lines[1]!.length).toBeLessThanOrEqual(80);
    expect(lines.at(-1)).toBe('1 failed job. Full errors and payloads: rakit job:failed --json');
  });

  it('job:retry all shows a progress bar over thousands of failed jobs, then a summary', async () => {
    const db = new Database(path.join(app.dir, 'storage', 'jobs.sqlite'));
    const insert = db.prepare('INSERT INTO rakit_failed_jobs (job_id, name, queue, payloads, exception, attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < 2999; i++) insert.run(String(1000 + i), 'record', 'bulk', `{"tag":"bulk-${i}"}`, 'Error: down', 3, Date.now());
    })();
    db.close();
    const out = await onTerminal('job:retry all');
    expect(out).toMatch(/Retrying failed jobs \[[=-]+\] 100% 3000\/3000/);
    expect(out).toMatch(/Retrying failed jobs \[[=-]+\] \d{1,2}% \d+\/3000/); // it moved on the way
    expect(out).toContain('Queued 3000 failed jobs again.');
    // In a pipe: the summary only.
    const piped = await app.rakit(['job:retry', 'all']);
    expect(piped.stdout.trim()).toBe('No failed jobs.');
    const json = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
    expect(json.queues).toContainEqual({ queue: 'bulk', ready: 2999, scheduled: 0, reserved: 0, failed: 0, paused: false });
  }, 60_000);
});

describe('in a pipe: stdout is for results, stderr for logs', () => {
  it('job:dispatch --json prints exactly one JSON document, which jq can read', async () => {
    const result = await app.rakit(['job:dispatch', 'record', '--queue=piped', '--json', '--payload={"tag":"jq"}']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: 'record', queue: 'piped', id: expect.any(String) });
    const { stdout } = await run('sh', ['-c', `${process.execPath} ${path.join(REPO, 'bin', 'rakit.js')} job:dispatch record --queue=piped --json --payload='{"tag":"jq2"}' | jq -c .queue`], { cwd: app.dir, env: app.env });
    expect(stdout).toBe('"piped"\n');
  });

  it('job:dispatch without --json prints one line a person reads, and no log line', async () => {
    const result = await app.rakit(['job:dispatch', 'record', '--queue=piped', '--without-overlapping', '--payload={"tag":"human"}']);
    expect(result.stdout).toMatch(/^Queued record as job \S+ on "piped", due \S+Z\n$/);
    expect(result.stderr).toBe('');
    const skipped = await app.rakit(['job:dispatch', 'record', '--queue=piped', '--without-overlapping', '--payload={"tag":"human"}']);
    expect(skipped.stdout).toMatch(/^Skipped: record is already pending or running \(job \S+\)\n$/);
  });

  it('every --json output is one document, and a worker writes its log lines to stderr only', async () => {
    for (const args of [['job:status', '--json'], ['job:failed', '--json'], ['job:dispatch', 'record', '--json', '--payload={"tag":"w"}']]) {
      const result = await app.rakit(args);
      expect(() => JSON.parse(result.stdout), `${args.join(' ')}: ${result.stdout}`).not.toThrow();
    }
    const worker = await app.rakit(['job:runall', '--queue=piped', '--stop-when-empty']);
    expect(worker.stdout).toBe('');
    const lines = worker.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; time: string });
    expect(lines.map((l) => l.msg)).toContain('Job executed: record (attempt 1)');
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }, 30_000);
});
