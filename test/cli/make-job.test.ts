/**
 * `rakit make:job` writes a job class an app can run at once, in a subfolder too
 * (`Admin/SendReport` → application/jobs/Admin/SendReport.ts, named `send-report`).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
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
    expect(again.code).toBe(2);
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

  for (const [kind, type, config, extension] of [['ES-module', 'module', 'job.js', '.js'], ['CommonJS', 'commonjs', 'job.cjs', '.cjs']] as const) {
    it(`writes JavaScript in a ${kind} app, which plain node dispatches from and the worker runs`, async () => {
      const js = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 });
      try {
        writeFileSync(path.join(js.dir, 'package.json'), JSON.stringify({ name: 'js-app', private: true, type }));
        const configDir = path.join(js.dir, 'application', 'config');
        const settings = readFileSync(path.join(configDir, 'job.ts'), 'utf8');
        writeFileSync(path.join(configDir, config), type === 'module' ? settings : settings.replace('export default', 'module.exports ='));
        renameSync(path.join(configDir, 'job.ts'), path.join(js.dir, 'job.ts.unused'));
        for (const fixture of ['application/jobs', 'application/events.ts']) {
          const full = path.join(js.dir, fixture);
          if (existsSync(full)) renameSync(full, `${full}.unused`);
        }
        await js.rakit(['job:table']);
        expect((await js.rakit(['migrate'])).code).toBe(0);
        const made = await js.rakit(['make:job', 'SendInvoice']);
        expect(made.code, made.stderr).toBe(0);
        expect(made.stdout).toBe(`Created application/jobs/SendInvoice${extension} (job name "send-invoice")\n`);
        const source = readFileSync(path.join(js.dir, 'application', 'jobs', `SendInvoice${extension}`), 'utf8');
        expect(source).not.toMatch(/: Promise<|<\{/); // no TypeScript in a JavaScript app
        const script = type === 'module'
          ? "import { Job } from 'rakit';\nconsole.log((await Job.dispatch('send-invoice', { id: 1 })).id);\n"
          : "const { Job } = require('rakit');\nJob.dispatch('send-invoice', { id: 1 }).then((r) => console.log(r.id));\n";
        writeFileSync(path.join(js.dir, `dispatch${extension}`), script);
        const dispatched = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [`dispatch${extension}`], { cwd: js.dir, env: js.env });
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('close', (code) => resolve({ code, stderr }));
        });
        expect(dispatched.code, dispatched.stderr).toBe(0);
        const run = await js.rakit(['job:runall', '--stop-when-empty']);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toContain('"msg":"Job executed: send-invoice (attempt 1)"');
      } finally {
        js.remove();
      }
    }, 60_000);
  }
});
