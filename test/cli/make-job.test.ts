/**
 * `rakit make:job` writes a job class an app can run at once, in a subfolder too
 * (`Admin/SendReport` → application/jobs/Admin/SendReport.ts, named `send-report`).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 });
  await app.rakit(['job:table']);
  expect((await app.rakit(['migrate'])).code).toBe(0);
});
afterAll(() => app?.remove());

describe('make:job', () => {
  it('writes a class in a subfolder, named by its class, which the worker finds and runs', async () => {
    const made = await app.rakit(['make:job', 'Admin/SendReport']);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toBe('Created application/jobs/Admin/SendReport.ts (job name "send-report")\n');
    const file = path.join(app.dir, 'application', 'jobs', 'Admin', 'SendReport.ts');
    expect(readFileSync(file, 'utf8')).toContain('export default class SendReport extends Jobable');
    const dispatched = await app.rakit(['job:dispatch', 'send-report', '--payload={"id":7}', '--json']);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const run = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('"msg":"Job executed: send-report (attempt 1)"');
  }, 30_000);

  it('refuses to overwrite a class that exists', async () => {
    const again = await app.rakit(['make:job', 'Admin/SendReport']);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('application/jobs/Admin/SendReport.ts already exists; choose another name.\n');
  });

  it('refuses reserved names and writes nothing', async () => {
    for (const name of ['Jobable', 'Admin/Job', 'Promise']) {
      const result = await app.rakit(['make:job', name]);
      expect(result.code, name).toBe(2);
      expect(result.stderr).toMatch(/is taken \(by (rakit|a JavaScript global)\)/);
      expect(existsSync(path.join(app.dir, 'application', 'jobs', `${name}.ts`))).toBe(false);
    }
  });
});
