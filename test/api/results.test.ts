/**
 * Results (store/job-results.ts): what run() returns is kept for `rakit job:show`, `--json` and
 * `Job.result()`, written by the worker processes of a real `rakit job:runall`, and read from
 * another process of the app; a final failure rejects the wait, a result over max_result_bytes
 * is noted as not kept, a job still pending times the wait out, one that returns nothing keeps
 * nothing; `result_retention_hours: 0` keeps none. On every store of the run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';
import { STORES } from '../helpers/stores.ts';

const JOBS: Record<string, string> = {
  'application/jobs/Answer.ts': `import { Jobable } from 'rakit';
export default class Answer extends Jobable<{ a: number; b: number }> {
  static tries = 1;
  async run() { return { sum: this.get('a') + this.get('b'), at: 'done' }; }
}`,
  'application/jobs/Quiet.ts': `import { Jobable } from 'rakit';
export default class Quiet extends Jobable { static tries = 1; async run() {} }`,
  'application/jobs/Broken.ts': `import { Jobable } from 'rakit';
export default class Broken extends Jobable { static tries = 1; async run() { throw new Error('broken on purpose'); } }`,
  'application/jobs/Big.ts': `import { Jobable } from 'rakit';
export default class Big extends Jobable { static tries = 1; run() { return 'x'.repeat(500); } }`,
};

/** Prints, as one JSON line, how Job.result() settled for each id given on the command line. */
const WAIT = `import { Job } from 'rakit';
const out: Record<string, unknown> = {};
for (const [name, id, ms] of JSON.parse(process.argv[2] ?? process.env.WAIT ?? '[]') as [string, string, number][]) {
  try { out[name] = { value: await Job.result(id, { timeoutMs: ms }) }; }
  catch (error) { out[name] = { error: (error as Error).name + ': ' + (error as Error).message }; }
}
console.log(JSON.stringify(out));
await Job.close();`;

const DISPATCH = `import { Job } from 'rakit';
const ids: Record<string, string | undefined> = {};
ids.answer = (await Job.dispatch('answer', { a: 2, b: 3 })).id;
ids.quiet = (await Job.dispatch('quiet')).id;
ids.broken = (await Job.dispatch('broken')).id;
ids.big = (await Job.dispatch('big')).id;
ids.later = (await Job.dispatch('answer', { a: 1, b: 1 }).delay(3600)).id;
console.log(JSON.stringify(ids));
await Job.close();`;

const apps: TestApp[] = [];
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
  for (const app of apps) app.remove();
});

async function appOn(store: (typeof STORES)[number], extra: Record<string, unknown> = {}): Promise<TestApp> {
  const app = makeApp({ sleep_ms: 50, max_result_bytes: 200, ...extra });
  apps.push(app);
  const { config, drop } = await store.setup(app.dir);
  drops.push(drop);
  const { writeConfig } = await import('../helpers/app.ts');
  writeConfig(app.dir, { sleep_ms: 50, max_result_bytes: 200, ...extra, ...config });
  for (const [file, source] of Object.entries(JOBS)) app.write(file, source);
  if (store.database) for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
  return app;
}

function json<T>(text: string): T {
  return JSON.parse(text.trim().split('\n').at(-1)!) as T;
}

describe.each(STORES)('results on $label', (store) => {
  it('keeps what run() returned for job:show and Job.result(), and says why a wait ends without one', async () => {
    const app = await appOn(store);
    const dispatched = await app.script('dispatch.ts', DISPATCH);
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const ids = json<Record<string, string>>(dispatched.stdout);

    // Waiting from another process of the app while a real worker run (manager and worker processes) works them off.
    const waiting = app.script('wait.ts', WAIT.replace("process.argv[2] ?? process.env.WAIT ?? '[]'", `'${JSON.stringify([
      ['answer', ids.answer, 20_000], ['quiet', ids.quiet, 20_000], ['broken', ids.broken, 20_000], ['big', ids.big, 20_000], ['later', ids.later, 300],
    ])}'`));
    const run = await app.rakit(['job:runall', '--stop-when-empty']);
    expect(run.code, run.stderr).toBe(0);
    const waited = await waiting;
    expect(waited.code, waited.stderr).toBe(0);
    expect(json(waited.stdout)).toEqual({
      answer: { value: { sum: 5, at: 'done' } },
      quiet: {},
      broken: { error: expect.stringMatching(/^JobResultError: Job .* failed: Error: broken on purpose$/) },
      big: { error: expect.stringMatching(/^JobResultError: Job .* finished, but its result was not kept: \d+ bytes, over max_result_bytes \(200\)$/) },
      later: { error: expect.stringMatching(/^TimeoutError: Job .* has not finished within 300 ms$/) },
    });

    const shown = await app.rakit(['job:show', ids.answer!]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`Job ${ids.answer!.replace('/', '\\/')} finished at .*\\. Result:\\n\\{\\n  "sum": 5,\\n  "at": "done"\\n\\}`));
    const asJson = await app.rakit(['job:show', ids.answer!, '--json']);
    expect(json<{ result: unknown; pending: unknown }>(asJson.stdout)).toMatchObject({ pending: null, result: { done: true, value: { sum: 5, at: 'done' } } });
    const broken = await app.rakit(['job:show', ids.broken!]);
    expect(broken.stdout).toContain('failed at');
    expect(broken.stdout).toContain('Error: broken on purpose');
    const pending = await app.rakit(['job:show', ids.later!]);
    expect(pending.stdout).toMatch(/: answer on default, scheduled \(due .*, attempts 0\)\nPayload: \{"a":1,"b":1\}/);
    const quiet = await app.rakit(['job:show', ids.quiet!]);
    expect(quiet.code).toBe(1);
    expect(quiet.stdout).toMatch(/^No job .*: not pending, not failed, and no result kept/);
  }, 120_000);
});

describe('results turned off', () => {
  it('keeps none with result_retention_hours: 0', async () => {
    const app = await appOn(STORES.find((s) => s.label === 'sqlite') ?? STORES[0]!, { result_retention_hours: 0 });
    const dispatched = await app.script('dispatch.ts', DISPATCH);
    const ids = json<Record<string, string>>(dispatched.stdout);
    expect((await app.rakit(['job:runall', '--stop-when-empty'])).code).toBe(0);
    const waited = await app.script('wait.ts', WAIT.replace("process.argv[2] ?? process.env.WAIT ?? '[]'", `'${JSON.stringify([['answer', ids.answer, 5_000], ['broken', ids.broken, 5_000]])}'`));
    expect(json(waited.stdout)).toEqual({ answer: {}, broken: {} });
  }, 60_000);
});
