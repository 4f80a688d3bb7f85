/**
 * The manual's scenario through the real binary, on every driver alike (SQLite, MariaDB,
 * PostgreSQL, Redis, Redis Cluster, file, memcached):
 * queues high/default/low, a scheduled job, a flaky job, a job that always fails, two
 * overlapping dispatches, the facade and a legacy listener; then the failed store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { STORES } from '../helpers/stores.ts';

const DISPATCH = `
import { Job } from 'rakit';
import Record from './application/jobs/Record.ts';
import Flaky from './application/jobs/Flaky.ts';
import AlwaysFails from './application/jobs/AlwaysFails.ts';
import './application/events.ts';

const out: unknown[] = [];
out.push(await Record.dispatch({ tag: 'low-1' }).onQueue('low'));
out.push(await Record.dispatch({ tag: 'default-1' }));
out.push(await Record.dispatch({ tag: 'high-1' }).onQueue('high'));
out.push(await Record.dispatch({ tag: 'later' }, new Date(Date.now() + 3_600_000)));
out.push(await Flaky.dispatch({}).onQueue('default'));
out.push(await AlwaysFails.dispatch({}));
out.push(await Record.dispatch({ tag: 'unique' }).withoutOverlapping());
out.push(await Record.dispatch({ tag: 'unique' }).withoutOverlapping());
out.push(await Job.dispatch('record', { tag: 'facade' }).onQueue('high'));
out.push(await Job.add('notify', { to: 'user@example.com' }));
console.log(JSON.stringify(out));
await Job.close();
`;

/** `it` where the case applies to the target; elsewhere the case does not exist (it is not "skipped"). */
const itWhere = (applies: boolean) => (applies ? it : ((() => undefined) as unknown as typeof it));

for (const target of STORES) {
  describe(`the manual's scenario on ${target.label}`, () => {
    let app: TestApp;
    let drop = async () => {};

    let scratch: string;

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-store-'));
      const made = await target.setup(scratch);
      drop = made.drop;
      app = makeApp({ ...made.config, sleep_ms: 50, backoff: 0 });
    });
    afterAll(async () => {
      app?.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    itWhere(!target.database)('needs no tables', async () => {
      const table = await app.rakit(['job:table']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/driver keeps its jobs without tables; nothing to write/);
    });

    itWhere(!!target.database)('creates the tables with job:table and migrate', async () => {
      const table = await app.rakit(['job:table']);
      expect(table).toMatchObject({ code: 0 });
      expect(table.stdout).toMatch(/Created migrations\/\d{14}_create_rakit_jobs_table\.ts/);
      const again = await app.rakit(['job:table']);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('already exists');
      const migrate = await app.rakit(['migrate']);
      expect(migrate.code).toBe(0);
      expect(migrate.stdout).toMatch(/Migrated: \d{14}_create_rakit_jobs_table \(batch 1\)/);
    });

    it('dispatches from application code, skipping the overlapping one', async () => {
      const result = await app.script('dispatch.ts', DISPATCH);
      expect(result.code, result.stderr).toBe(0);
      const out = JSON.parse(result.stdout.split('\n').filter((l) => l.startsWith('['))[0]!);
      expect(out).toHaveLength(10);
      expect(out[6].id).toBeTruthy();
      expect(out[7]).toMatchObject({ skipped: 'overlapping', existingId: out[6].id });
      expect(out[8]).toMatchObject({ name: 'record', queue: 'high' });
      expect(out[9]).toMatchObject({ name: 'notify', queue: 'default' });
    });

    it('works off everything due, in strict priority, with retries, then stops', async () => {
      const run = await app.rakit(['job:runall', '--queue=high,default,low', '--stop-when-empty']);
      expect(run.code, run.stderr).toBe(0);
      const ran = app.ranLog();
      expect(ran.slice(0, 2)).toEqual(['high-1', 'facade']);
      expect(ran.at(-1)).toBe('low-1');
      expect(ran.filter((l) => l.startsWith('flaky'))).toEqual(['flaky attempt 1', 'flaky attempt 2', 'flaky attempt 3']);
      expect(ran.filter((l) => l === 'always-fails')).toHaveLength(2);
      expect(ran).toContain('failed hook: always fails on purpose');
      expect(ran.filter((l) => l === 'unique')).toHaveLength(1);
      expect(ran).toContain('notify: user@example.com');
      expect(ran).not.toContain('later');
      const msgs = logLines(run.stderr).map((l) => l.msg);
      expect(msgs).toContain('Job executed: flaky (attempt 3)');
      expect(msgs).toContain('Job failed: always-fails (after 2 attempts): always fails on purpose');
      expect(msgs.at(-1)).toMatch(/Worker stopped \(empty\): 7 done, 3 retried, 1 failed/);
      if (target.label === 'memcached') expect(msgs[0]).toMatch(/^memcached driver: best effort — jobs are lost if memcached restarts or evicts them/);
      else expect(msgs[0]).toMatch(/^Worker started on /);
    });

    it('lists the failed job, shows the scheduled one, and never runs the failed job by itself', async () => {
      const failed = await app.rakit(['job:failed']);
      expect(failed.code).toBe(0);
      expect(failed.stdout).toMatch(/ID\s+JOB\s+QUEUE\s+ATTEMPTS\s+FAILED AT\s+ERROR/);
      expect(failed.stdout).toMatch(/always-fails\s+default\s+2\s+.*Error: always fails on purpose/);
      const status = JSON.parse((await app.rakit(['job:status', '--json'])).stdout);
      // The queues that worked in the last hour stay in sight, emptied.
      expect(status.queues).toEqual([
        { queue: 'default', ready: 0, scheduled: 1, reserved: 0, failed: 1, paused: false },
        { queue: 'high', ready: 0, scheduled: 0, reserved: 0, failed: 0, paused: false },
        { queue: 'low', ready: 0, scheduled: 0, reserved: 0, failed: 0, paused: false },
      ]);
      const before = app.ranLog().length;
      expect((await app.rakit(['job:runall', '--stop-when-empty'])).code).toBe(0);
      expect(app.ranLog()).toHaveLength(before);
    });

    it('brings the failed job back with job:retry', async () => {
      const [entry] = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout);
      const retry = await app.rakit(['job:retry', entry.id]);
      expect(retry.code).toBe(0);
      expect(retry.stdout).toMatch(new RegExp(`Failed job ${entry.id} queued again as job \\S+`));
      expect((await app.rakit(['job:failed'])).stdout).toContain('No failed jobs.');
      const before = app.ranLog().length;
      await app.rakit(['job:runall', '--stop-when-empty']);
      expect(app.ranLog().slice(before)).toEqual(['always-fails', 'always-fails', 'failed hook: always fails on purpose']);
      const missing = await app.rakit(['job:retry', 'default/999999', '999999']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('No failed job with id 999999');
    });

    it('forgets and flushes failed jobs', async () => {
      const [entry] = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout);
      expect((await app.rakit(['job:flush', '--hours=1'])).stdout).toContain('Deleted 0 failed jobs.');
      expect((await app.rakit(['job:forget', entry.id])).stdout).toContain(`Failed job ${entry.id} deleted.`);
      expect((await app.rakit(['job:forget', entry.id])).code).toBe(1);
      expect((await app.rakit(['job:flush'])).stdout).toContain('Deleted 0 failed jobs.');
    });

    it('dispatches from the shell and clears pending jobs', async () => {
      const d = await app.rakit(['job:dispatch', 'record', '--payload', '{"tag":"shell"}', '--queue', 'low', '--at', '2030-01-01 10:00']);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toMatch(/Queued record as job \S+ on "low", due 2030-01-01T10:00:00.000Z/);
      const clear = await app.rakit(['job:clear', '--queue', 'low']);
      expect(clear.stdout).toContain('Deleted 1 pending job from "low".');
      expect((await app.rakit(['job:clear'])).stdout).toContain('Deleted 1 pending job.');
      // The queues that worked in the last hour stay in sight, emptied: nothing ready, scheduled or reserved.
      expect((await app.rakit(['job:status'])).stdout).toMatch(/\(total\)\s+0\s+0\s+0\s/);
    });

    itWhere(!!target.database)('rolls the migration back', async () => {
      const status = await app.rakit(['migrate', '--status']);
      expect(status.stdout).toMatch(/ran\s+\d{14}_create_rakit_jobs_table/);
      const back = await app.rakit(['migrate', '--rollback']);
      expect(back.code).toBe(0);
      expect(back.stdout).toMatch(/Rolled back: \d{14}_create_rakit_jobs_table/);
      const after = await app.rakit(['job:status']);
      expect(after.code).toBe(2);
      expect(after.stderr).toContain('rakit: Table "rakit_jobs" is missing: run `rakit job:table && rakit migrate`');
    });
  });
}
