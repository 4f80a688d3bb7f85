import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/core/logger.ts';

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
    const time = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';
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
