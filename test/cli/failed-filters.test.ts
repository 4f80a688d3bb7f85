/**
 * job:failed, job:retry and job:forget over 1,801 failed jobs (more than a page) on SQLite:
 * pages newest first with the command for the next, counts that agree with job:status, the
 * filters, a retry by filter in a pipe (a line per page on stderr, the summary on stdout), a
 * second run of the same command refused while the first is going, and forget by filter.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';

const FAILED = 1801;
let app: TestApp;
const now = Date.now();

beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite' });
  expect((await app.rakit(['job:table'])).code).toBe(0);
  expect((await app.rakit(['migrate'])).code).toBe(0);
  const db = new Database(path.join(app.dir, 'storage', 'jobs.sqlite'));
  const insert = db.prepare('INSERT INTO rakit_failed_jobs (job_id, name, queue, payloads, exception, attempts, overlap_key, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    // Row i failed i minutes after the first; the mail ones time out, the sms ones are refused.
    for (let i = 0; i < FAILED; i++) {
      const mail = i % 3 !== 2;
      insert.run(String(i + 1), mail ? 'send-email' : 'send-sms', mail ? 'mail' : 'sms', `{"i":${i}}`, mail ? 'Error: SMTP Timeout\n    at send (mail.ts:1:1)' : 'Error: refused', 3, null, now - (FAILED - i) * 60_000);
    }
  })();
  db.close();
});
afterAll(() => app?.remove());

const MAIL = Math.ceil((FAILED * 2) / 3);

describe('failed jobs by the thousand', () => {
  it('job:failed pages newest first, ending each page with the command for the next', async () => {
    const first = await app.rakit(['job:failed']);
    const lines = first.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^1801 +send-email +mail /);
    expect(lines.at(-1)).toMatch(/^1000 of 1801 failed jobs, newest first\. Older ones: rakit job:failed --after \d+:802$/);
    const next = lines.at(-1)!.replace(/.*Older ones: rakit /, '').split(' ');
    const second = (await app.rakit(next)).stdout.trim().split('\n');
    expect(second[1]).toMatch(/^801 +send-sms +sms /);
    expect(second.at(-1)).toBe('801 of 1801 failed jobs, newest first.');
    const json = JSON.parse((await app.rakit(['job:failed', '--json', '--queue', 'sms', '--limit', '10'])).stdout) as { id: string; queue: string }[];
    expect(json.map((f) => f.id)).toEqual(['1800', '1797', '1794', '1791', '1788', '1785', '1782', '1779', '1776', '1773']);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { queue: string; failed: number }[] };
    expect(status.queues.find((q) => q.queue === 'mail')?.failed).toBe(MAIL);
    expect(status.queues.find((q) => q.queue === 'sms')?.failed).toBe(FAILED - MAIL);
  });

  it('job:failed filters by queue, job, error text and time, and counts the matches', async () => {
    const last = async (args: string[]) => (await app.rakit(['job:failed', ...args])).stdout.trim().split('\n').at(-1);
    expect(await last(['--error', 'timeout', '--limit', '5'])).toMatch(new RegExp(`^5 of ${MAIL} failed jobs, newest first\\. Older ones: rakit job:failed --after \\d+:\\d+ --error timeout --limit 5$`));
    expect(await last(['--name', 'send-sms', '--since', '30m'])).toBe('10 failed jobs. Full errors and payloads: rakit job:failed --json');
    expect(await last(['--queue', 'mail', '--until', '1790m', '--since', '1800m'])).toMatch(/^\d+ failed jobs?\. Full errors/);
    expect((await app.rakit(['job:failed', '--since', '2026'])).code).not.toBe(0);
  });

  it('job:retry by filter works a page at a time and reports; job:forget by filter deletes the matches', async () => {
    const retry = await app.rakit(['job:retry', '--queue', 'mail', '--error', 'TIMEOUT']);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stderr).toContain(`Retrying failed jobs: 1000 of ${MAIL}`);
    expect(retry.stderr).toContain(`Retrying failed jobs: ${MAIL} of ${MAIL}`);
    expect(retry.stdout.trim()).toBe(`Queued ${MAIL} failed jobs again.`);
    const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { queue: string; ready: number; failed: number }[] };
    expect(status.queues.find((q) => q.queue === 'mail')).toMatchObject({ ready: MAIL, failed: 0 });
    expect((await app.rakit(['job:retry', '--queue', 'mail'])).stdout.trim()).toBe('No failed jobs.');
    const forget = await app.rakit(['job:forget', '--queue', 'sms', '--until', '900m']);
    expect(forget.stdout.trim()).toMatch(/^Deleted \d+ failed jobs\.$/);
    const left = Number(/(\d+) failed jobs/.exec((await app.rakit(['job:failed'])).stdout)![1]);
    expect(left + Number(/Deleted (\d+)/.exec(forget.stdout)![1])).toBe(FAILED - MAIL);
    expect((await app.rakit(['job:forget'])).code).not.toBe(0);
  });
});
