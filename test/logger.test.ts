import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, wallClock } from '../src/infra/logger.ts';
import { REPO } from './helpers/app.ts';

function capture(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += chunk;
      done();
    },
  });
  return { stream, text: () => out };
}

describe('logging', () => {
  it('writes JSON lines with job fields when the output is not a terminal', () => {
    const { stream, text } = capture();
    createLogger({ logging: true, destination: stream }).info({ id: '7', job: 'send-email', queue: 'high', ms: 12 }, 'Job executed: send-email (attempt 1)');
    expect(JSON.parse(text())).toMatchObject({ level: 30, id: '7', job: 'send-email', queue: 'high', ms: 12, msg: 'Job executed: send-email (attempt 1)' });
  });

  it('on a terminal, writes one aligned line per attempt: time, job, id, queue, duration, outcome', () => {
    const { stream, text } = capture();
    stream.isTTY = true;
    const logger = createLogger({ logging: true, destination: stream });
    logger.info('Worker started on database (sqlite)');
    logger.info({ id: '7', job: 'send-email', queue: 'high', ms: 12, status: 'DONE' }, 'Job executed: send-email (attempt 1)');
    logger.warn({ id: '1042', job: 'generate-monthly-invoices', queue: 'low', ms: 1530, status: 'RETRY', err: 'SMTP down' }, 'Job retry');
    logger.error({ id: '9', job: 'process-upload', queue: 'default', ms: 95_000, status: 'FAIL', err: 'bad file' }, 'Job failed');
    // eslint-disable-next-line no-control-regex
    const lines = text().replace(/\x1b\[\d+m/g, '').trimEnd().split('\n');
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC';
    expect(lines[0]).toMatch(new RegExp(`^${time}  Worker started on database \\(sqlite\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^${time}  send-email +#7 +high +12 ms DONE$`));
    expect(lines[2]).toMatch(new RegExp(`^${time}  generate-monthly-invoices +#1042 +low +1.53 s RETRY +SMTP down$`));
    expect(lines[3]).toMatch(new RegExp(`^${time}  process-upload +#9 +default +1m 35s FAIL +bad file$`));
    // The columns line up.
    expect(new Set(lines.slice(1).map((l) => l.search(/(DONE|RETRY|FAIL)/))).size).toBe(1);
  });

  it('with logging: false keeps warnings and errors only', () => {
    const { stream, text } = capture();
    const logger = createLogger({ logging: false, destination: stream });
    logger.info('Job executed: x');
    logger.error('Job failed: y');
    expect(text()).not.toContain('Job executed');
    expect(text()).toContain('Job failed: y');
  });
});

describe('times people read', () => {
  it('are in the configured timezone with the zone shown, or UTC labelled', () => {
    const ms = Date.UTC(2026, 11, 31, 20, 5, 9);
    expect(wallClock(ms)).toBe('2026-12-31 20:05:09 UTC');
    expect(wallClock(ms, 'Asia/Jakarta')).toBe('2027-01-01 03:05:09 +07:00');
    expect(wallClock(ms, 'America/New_York')).toBe('2026-12-31 15:05:09 -05:00');
    expect(wallClock(Date.UTC(2026, 6, 1, 12), 'Europe/London')).toBe('2026-07-01 13:00:00 +01:00');
  });

  it('on a terminal, each line starts with the time in the configured zone', () => {
    const { stream, text } = capture();
    stream.isTTY = true;
    createLogger({ logging: true, destination: stream, timezone: 'Asia/Jakarta' }).info('Worker started');
    // eslint-disable-next-line no-control-regex
    expect(text().replace(/\x1b\[\d+m/g, '')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00 {2}Worker started\n$/);
  });
});

describe('the log stream of a process', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-log-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const script = path.join(dir, 'log.ts');
  writeFileSync(script, [
    `import { createLogger } from ${JSON.stringify(path.join(REPO, 'src', 'infra', 'logger.ts'))};`,
    'const log = createLogger({ logging: true });',
    "for (let i = 0; i < 2000; i++) log.info({ i }, 'line');",
    'const how = process.argv[2];',
    "if (how === 'exit') process.exit(3);",
    "if (how === 'throw') throw new Error('fatal');",
    "if (how === 'sigterm') { process.on('SIGTERM', () => process.exit(0)); process.kill(process.pid, 'SIGTERM'); setInterval(() => undefined, 1000); }",
    "if (how === 'idle') { log.info('last'); setTimeout(() => undefined, 3000); }",
  ].join('\n'));

  /** Runs the script; resolves with what it wrote where, and its exit code. */
  const run = (how: string, onStderr?: (text: string, kill: () => void) => void) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(path.join(REPO, 'node_modules', '.bin', 'tsx'), [script, how]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => {
        stderr += d;
        onStderr?.(stderr, () => child.kill('SIGKILL'));
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it.each([
    ['process.exit()', 'exit', 3],
    ['an uncaught error', 'throw', 1],
    ['a handled SIGTERM', 'sigterm', 0],
    ['the end of the event loop', 'end', 0],
  ])('goes to stderr and loses no line at %s', async (_label, how, code) => {
    const result = await run(how);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(lines).toHaveLength(2000);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ i: 1999, msg: 'line', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });
  }, 20_000);

  it('writes the last line of a process that goes idle within a moment, not at its exit', async () => {
    const result = await run('idle', (text, kill) => {
      if (text.includes('"msg":"last"')) kill();
    });
    expect(result.code).toBe(null); // killed: the line came while it still ran
    expect(result.stderr).toContain('"msg":"last"');
  }, 20_000);
});
