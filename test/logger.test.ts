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

  it('writes readable lines on a terminal', () => {
    const { stream, text } = capture();
    stream.isTTY = true;
    createLogger({ logging: true, destination: stream }).info({ id: '7', job: 'send-email' }, 'Job executed: send-email (attempt 1)');
    expect(text()).toMatch(/^\[\d\d:\d\d:\d\d\] .*INFO.*: Job executed: send-email \(attempt 1\) .*"id":"7"/);
    expect(() => JSON.parse(text())).toThrow();
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
