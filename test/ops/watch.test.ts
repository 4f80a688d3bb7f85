/**
 * `job:runall --watch` in development: changed job files load in new worker processes while
 * the running job finishes on the old one; a file that does not load keeps the old code working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/clock.ts';
import { logLines, makeApp, type TestApp } from '../helpers/app.ts';
import { childPids, gone } from '../helpers/processes.ts';

let app: TestApp;
beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50 });
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
});
afterAll(() => app?.remove());

const dispatch = (name: string, payload: object = {}) => app.rakit(['job:dispatch', name, '--payload', JSON.stringify(payload)]);
const job = (tag: string) => `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';

export default class Fresh extends Jobable<{ n: number }> {
  async run() {
    appendFileSync('storage/ran.log', \`${tag} \${this.get('n')}\\n\`);
  }
}
`;

describe('job:runall --watch', () => {
  it('loads new and changed job classes without dropping the running job', async () => {
    const worker = app.spawnRakit(['job:runall', '--watch']);
    let logs = '';
    worker.stderr!.on('data', (d) => (logs += d));
    const closed = new Promise<number | null>((resolve) => worker.on('close', resolve));
    try {
      await dispatch('slow', { ms: 3000 });
      await until(() => app.ranLog().some((l) => l.startsWith('slow start')), 15_000);

      // A new class while a job runs: it is found and runs; the slow job still finishes, once.
      app.write('application/jobs/Fresh.ts', job('fresh v1'));
      expect((await dispatch('fresh', { n: 1 })).code).toBe(0);
      await until(() => app.ranLog().includes('fresh v1 1'), 15_000);
      await until(() => app.ranLog().some((l) => l.startsWith('slow done')), 15_000);

      // A changed class: the new code runs.
      const older = childPids(worker.pid!);
      app.write('application/jobs/Fresh.ts', job('fresh v2'));
      await until(() => logLines(logs).filter((l) => l.msg === 'Job files changed: starting worker processes with the new code').length >= 2, 15_000);
      // The older processes retire once one with the new code has loaded it: none of them is left to take the next job.
      await until(() => older.every(gone) && childPids(worker.pid!).some((pid) => !older.includes(pid)), {
        timeoutMs: 15_000, what: 'the worker processes of the old code to give way to one with the new code',
      });
      await dispatch('fresh', { n: 2 });
      await until(() => app.ranLog().includes('fresh v2 2'), 15_000);

      // A file that does not load: the workers keep the code they have.
      app.write('application/jobs/Broken.ts', 'export default class {{{');
      await until(() => logLines(logs).some((l) => l.msg.startsWith('The job files do not load')), 15_000);
      // (job:dispatch would load Broken.ts and refuse; the app's own code dispatches the class.)
      const sent = await app.script('send.ts', "import { Job } from 'rakit';\nimport Fresh from './application/jobs/Fresh.ts';\nawait Fresh.dispatch({ n: 3 });\nawait Job.close();\n");
      expect(sent.code, sent.stderr).toBe(0);
      await until(() => app.ranLog().includes('fresh v2 3'), 15_000);

      expect(app.ranLog().filter((l) => l.startsWith('slow'))).toHaveLength(2);
    } finally {
      worker.kill('SIGTERM');
    }
    expect(await closed).toBe(0);
  }, 90_000);

  it('is refused with --in-process, whose loaded modules cannot be replaced', async () => {
    const run = await app.rakit(['job:runall', '--watch', '--in-process']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--watch loads changed job files in new worker processes: drop --in-process');
  });
});
