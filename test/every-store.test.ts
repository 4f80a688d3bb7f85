/**
 * What a script and the CLI do the same on every store (SQLite, MariaDB, PostgreSQL, Redis,
 * Redis Cluster, file, memcached): a script that dispatches and does nothing else ends by itself
 * (no `Job.close()`), with code 0 and its job stored.
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
  });
}
