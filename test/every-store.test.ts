/**
 * What a script and the CLI do the same on every store (SQLite, MariaDB, PostgreSQL, Redis,
 * Redis Cluster, file, memcached): a script that dispatches and does nothing else ends by itself
 * (no `Job.close()`), with code 0 and its job stored, and one that calls `Job.close()` gets past
 * it; overlap keys longer than the 191-character column and long job names behave alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, REPO, type TestApp } from './helpers/app.ts';
import { STORES } from './helpers/stores.ts';

const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

/** Runs a script of the app with tsx; kills it after `limitMs`. */
function runScript(app: TestApp, file: string, source: string, limitMs: number): Promise<{ code: number | null; ms: number; stdout: string; stderr: string; killed: boolean }> {
  writeFileSync(path.join(app.dir, file), source);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(TSX, [file], { cwd: app.dir, env: app.env });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, stdout, stderr, killed });
    });
  });
}

const status = async (app: TestApp) =>
  (JSON.parse((await app.rakit(['job:status', '--json'])).stdout) as { queues: { queue: string; ready: number }[] }).queues;

for (const store of STORES) {
  describe(`on ${store.label}`, () => {
    let scratch: string;
    let app: TestApp;
    let drop = async () => {};

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-store-'));
      const made = await store.setup(scratch);
      drop = made.drop;
      app = makeApp({ ...made.config, sleep_ms: 100 });
      if (store.database) {
        await app.rakit(['job:table']);
        expect((await app.rakit(['migrate'])).code).toBe(0);
      } else {
        expect((await app.rakit(['job:status'])).code).toBe(0); // builds dist/ before the scripts import it
      }
    }, 60_000);
    afterAll(async () => {
      app?.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('a script that dispatches and does nothing else ends by itself, with its job stored', async () => {
      const run = await runScript(app, 'dispatch.ts', [
        "import { Job } from 'rakit';",
        "const result = await Job.dispatch('record', { tag: 'from-a-script' }).onQueue('scripted');",
        'console.log(JSON.stringify(result));',
      ].join('\n'), 20_000);
      expect(run.killed, `still running after 20 s; stderr: ${run.stderr}`).toBe(false);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ name: 'record', queue: 'scripted' });
      // tsx itself takes about a second to start on a busy machine; without the fix this never ended.
      expect(run.ms).toBeLessThan(8000);
      expect(await status(app)).toContainEqual(expect.objectContaining({ queue: 'scripted', ready: 1 }));
    }, 30_000);

    it('a script that ends with `await Job.close()` gets past it and exits 0', async () => {
      const run = await runScript(app, 'close.ts', [
        "import { Job } from 'rakit';",
        "await Job.dispatch('record', { tag: 'then-close' }).onQueue('closing');",
        'await Job.close();',
        "console.log('closed');",
      ].join('\n'), 20_000);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('closed\n');
    }, 30_000);

    it('overlap keys longer than the 191-character column: the same key is skipped, another is queued', async () => {
      const long = 'k'.repeat(300);
      const dispatch = (tag: string) => app.rakit(['job:dispatch', 'record', '--queue=long', '--without-overlapping', '--json', '--payload', JSON.stringify({ tag })]);
      const first = await dispatch(long);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout).id).toBeTruthy();
      const again = await dispatch(long);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ skipped: 'overlapping', existingId: JSON.parse(first.stdout).id });
      const other = await dispatch(`${long}-other`); // same first 150 characters, another key
      expect(JSON.parse(other.stdout).id).toBeTruthy();
      expect(await status(app)).toContainEqual(expect.objectContaining({ queue: 'long', ready: 2 }));
    }, 30_000);

    it('a job name no store can hold is refused before anything is stored', async () => {
      const name = `job-${'n'.repeat(200)}`;
      const result = await runScript(app, 'long-name.ts', [
        "import { Job, Event } from 'rakit';",
        `Event.listen('rakit.jobs.run: ${name}', () => undefined);`,
        `await Job.dispatch('${name}', { secret: 'payload-text' }).onQueue('names').catch((e: Error) => console.log(e.name + ': ' + e.message));`,
      ].join('\n'), 20_000);
      expect(result.stdout).toMatch(/^UsageError: The job name "job-n+…" is 204 characters: at most 191 fit every store/);
      expect(await status(app)).not.toContainEqual(expect.objectContaining({ queue: 'names' }));
    }, 30_000);
  });
}
