/**
 * Hard timeouts through the real binary, on the database driver (SQLite, MariaDB) and Redis: a
 * job that ignores its AbortSignal while awaiting, or awaits a promise that never settles, is
 * stopped by killing its worker process KILL_GRACE_MS after its timeout. Until then it keeps its
 * slot and its overlap key: nothing starts beside it at --concurrency=1, a dispatch of its key
 * is skipped, attempt 2 never overlaps attempt 1. failed() gets the real job and error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';
import { STORES } from '../helpers/stores.ts';

const HOOK = `
  async failed(error) {
    const died = error.exitCode !== undefined ? \` \${error.exitCode} \${error.signal}\` : '';
    appendFileSync('storage/ran.log', \`failed \${this.constructor.name} \${error.name} \${this.id} \${this.queue} \${this.attempt} \${JSON.stringify(this.payload)}\${died} | \${error.message}\\n\`);
  }`;
const job = (name: string, statics: string, body: string, extra = '') => `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class ${name} extends Jobable {
  ${statics}
  ${extra}
  async run() {
    appendFileSync('storage/ran.log', \`start ${name} \${this.attempt} \${process.pid} \${Date.now()}\\n\`);
    ${body}
    appendFileSync('storage/ran.log', \`end ${name} \${this.attempt}\\n\`);
  }${HOOK}
}
`;
const JOBS: Record<string, string> = {
  // The reproduction: ignores its signal and awaits a 7 s timer.
  'Awaiter.ts': job('Awaiter', 'static timeout = 2; static tries = 2; static backoff = 0;', 'await new Promise((r) => setTimeout(r, 7000));', "uniqueId() { return 'only-one'; }"),
  'Forever.ts': job('Forever', 'static timeout = 2; static tries = 1;', 'await new Promise(() => undefined);'),
  'Throws.ts': job('Throws', 'static timeout = 5; static tries = 1;', "throw new TypeError('thrown on purpose');"),
  'Dies.ts': job('Dies', 'static timeout = 5; static tries = 1;', 'process.exit(3);'),
  'ExitsTwo.ts': job('ExitsTwo', 'static timeout = 5; static tries = 2; static backoff = 0;', 'process.exit(2);'),
  // Its code ends at once; its failed() hook outlasts timeout + grace. The hook is not job code.
  'SlowHook.ts': `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class SlowHook extends Jobable {
  static timeout = 1; static tries = 1;
  async run() { throw new RangeError('fails at once'); }
  async failed(error) {
    await new Promise((r) => setTimeout(r, 4000));
    appendFileSync('storage/ran.log', \`hook SlowHook \${error.name} \${this.id}\\n\`);
  }
}
`,
};

const TARGETS = STORES.filter((s) => ['sqlite', 'mysql', 'redis'].includes(s.label));

for (const target of TARGETS) {
  describe(`hard timeouts on ${target.label}`, () => {
    let app: TestApp;
    let drop = async () => {};
    let scratch: string;

    beforeAll(async () => {
      scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-store-'));
      const made = await target.setup(scratch);
      drop = made.drop;
      app = makeApp({ ...made.config, sleep_ms: 50 });
      for (const [file, source] of Object.entries(JOBS)) app.write(`application/jobs/${file}`, source);
      if (target.database) {
        expect((await app.rakit(['job:table'])).code).toBe(0);
        expect((await app.rakit(['migrate'])).code).toBe(0);
      }
    });
    afterAll(async () => {
      app?.remove();
      await drop();
      rmSync(scratch, { recursive: true, force: true });
    });

    it('kills a job that ignores its signal or never settles; one key, one attempt at a time', async () => {
      const first = await app.rakit(['job:dispatch', 'awaiter', '--payload', '{"n":1}', '--queue', 'mail', '--without-overlapping']);
      expect(first.code, first.stderr).toBe(0);
      await app.rakit(['job:dispatch', 'forever']);
      const child = app.spawnRakit(['job:runall', '--stop-when-empty', '--concurrency=1', '--queue=mail,default']);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
      await until(() => app.ranLog().some((l) => l.startsWith('start Awaiter 1')), 30_000);
      await new Promise((r) => setTimeout(r, 2500)); // wall time: past its timeout (2 s), before the kill (2 s later)
      const again = await app.rakit(['job:dispatch', 'awaiter', '--payload', '{"n":2}', '--queue', 'mail', '--without-overlapping']);
      expect(again.stdout).toMatch(/^Skipped: awaiter is already pending or running/m);
      expect(await exit, stderr).toBe(0);

      const ran = app.ranLog();
      expect(ran.filter((l) => l.startsWith('end '))).toEqual([]);
      const starts = ran.filter((l) => l.startsWith('start ')).map((l) => l.split(' '));
      expect(starts.map((s) => `${s[1]} ${s[2]}`)).toEqual(['Awaiter 1', 'Awaiter 2', 'Forever 1']);
      // Each ran alone until its process was killed (timeout 2 s + 2 s grace), in a process of its own.
      for (let i = 1; i < starts.length; i++) expect(Number(starts[i]![4]) - Number(starts[i - 1]![4])).toBeGreaterThanOrEqual(3900);
      expect(new Set(starts.map((s) => s[3])).size).toBe(3);

      const failed = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout) as { jobId: string; name: string; attempts: number; exception: string }[];
      expect(failed.map((f) => [f.name, f.attempts]).sort()).toEqual([['awaiter', 2], ['forever', 1]]);
      for (const f of failed) expect(f.exception).toMatch(/^TimeoutError: Job "\w+" \(id [^)]+\) ran past its timeout of 2 s and was stopped by killing its worker process/);
      const awaiter = failed.find((f) => f.name === 'awaiter')!;
      const forever = failed.find((f) => f.name === 'forever')!;
      const hooks = ran.filter((l) => l.startsWith('failed ')).map((l) => l.split(' | ')[0]);
      expect(hooks.sort()).toEqual([
        `failed Awaiter TimeoutError ${awaiter.jobId} mail 2 {"n":1}`,
        `failed Forever TimeoutError ${forever.jobId} default 1 {}`,
      ]);
    });

    it('runs failed() with the real job and error when job code throws, and when its process dies', async () => {
      if (target.label !== 'sqlite') return; // one store is enough for the two other paths
      await app.rakit(['job:dispatch', 'throws', '--payload', '{"k":"t"}', '--queue', 'q1']);
      await app.rakit(['job:dispatch', 'dies', '--payload', '{"k":"d"}', '--queue', 'q2']);
      const run = await app.rakit(['job:runall', '--stop-when-empty']);
      expect(run.code, run.stderr).toBe(0);
      const failed = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout) as { jobId: string; name: string }[];
      const id = (name: string) => failed.find((f) => f.name === name)!.jobId;
      const hooks = app.ranLog().filter((l) => /^failed (Throws|Dies)/.test(l));
      expect(hooks.sort()).toEqual([
        `failed Dies WorkerDiedError ${id('dies')} q2 1 {"k":"d"} 3 null | The worker process running job "dies" (id ${id('dies')}) died (exit code 3)`,
        `failed Throws TypeError ${id('throws')} q1 1 {"k":"t"} | thrown on purpose`,
      ]);
    });

    it('counts a job that calls process.exit(2) as a death under its job; the run goes on', async () => {
      if (target.label !== 'sqlite') return;
      await app.rakit(['job:dispatch', 'exits-two', '--queue', 'twos']);
      const run = await app.rakit(['job:runall', '--stop-when-empty', '--queue=twos']);
      expect(run.code, run.stderr).toBe(0);
      const failed = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout) as { name: string; attempts: number; exception: string }[];
      const twos = failed.filter((f) => f.name === 'exits-two');
      expect(twos.map((f) => f.attempts)).toEqual([2]);
      expect(twos[0]!.exception).toMatch(/^WorkerDiedError: .*died \(exit code 2\)/);
    }, 30_000);

    it('does not kill a process for the bookkeeping after job code: a failed() hook longer than timeout + grace runs to its end', async () => {
      if (target.label !== 'sqlite') return; // the deadline is the manager's, the same on every store
      await app.rakit(['job:dispatch', 'slow-hook', '--queue', 'hooks']);
      const run = await app.rakit(['job:runall', '--stop-when-empty', '--queue=hooks']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout + run.stderr).not.toMatch(/ran past its timeout/);
      const failed = JSON.parse((await app.rakit(['job:failed', '--json'])).stdout) as { jobId: string; name: string; exception: string }[];
      const slow = failed.find((f) => f.name === 'slow-hook')!;
      expect(slow.exception).toMatch(/^RangeError: fails at once/);
      expect(app.ranLog().filter((l) => l.startsWith('hook '))).toEqual([`hook SlowHook RangeError ${slow.jobId}`]);
    }, 30_000);
  });
}
