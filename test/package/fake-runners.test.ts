/**
 * Job.fake() in an app's own tests, under the three runners the docs name: the packed tarball
 * installed into a fresh CommonJS app (`rakit init`) with vitest, jest and nothing else for
 * node:test, and the samples of docs/testing-your-jobs.md (```js blocks whose first line is
 * `// <file>`) written into it. Each runner passes the sample as it is, and fails it once its
 * assertion asks for a mail nobody was sent, printing what was dispatched instead. The Indonesian
 * page carries the same samples.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/app.ts';
import { installApp, pack, rakit, run, scratchDir } from './tarball.ts';

const scratch = scratchDir();
const app = path.join(scratch, 'app');

/** The ```js samples of a docs page that name their file, by file. */
function samples(page: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of readFileSync(path.join(REPO, page), 'utf8').matchAll(/^```js\n(\/\/ (\S+)[^\n]*\n[\s\S]*?)^```$/gm)) found.set(m[2]!, m[1]!);
  return found;
}

const SAMPLES = samples('docs/testing-your-jobs.md');
const PASSING = "job.get('to') === 'ana@example.com'";
const FAILING = "job.get('to') === 'bob@example.com'";

const RUNNERS = [
  { runner: 'vitest', file: 'test/signup.vitest.test.mjs', command: [path.join('node_modules', 'vitest', 'vitest.mjs'), 'run'] },
  { runner: 'jest', file: 'test/signup.jest.test.js', command: [path.join('node_modules', 'jest', 'bin', 'jest.js')] },
  { runner: 'node:test', file: 'test/signup.node.test.mjs', command: ['--test'] },
] as const;

beforeAll(async () => {
  const tarball = await pack(scratch);
  // vitest comes from this repository's node_modules (the seed); jest from the registry.
  await installApp(app, 'cjs', tarball, REPO, ['vitest@3', 'jest@30']);
  const init = await rakit(app, ['init']);
  if (init.code !== 0) throw new Error(`rakit init failed:\n${init.stdout}${init.stderr}`);
  for (const [file, code] of SAMPLES) {
    mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    writeFileSync(path.join(app, file), code);
  }
}, 600_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the samples of docs/testing-your-jobs.md', () => {
  it('are one for each runner, beside the code they test, and the same in docs/id/', () => {
    expect([...SAMPLES.keys()].sort()).toEqual(['src/signup.js', ...RUNNERS.map((r) => r.file)].sort());
    for (const { file } of RUNNERS) expect(SAMPLES.get(file), file).toContain(PASSING);
    expect(samples('docs/id/testing-your-jobs.md')).toEqual(SAMPLES);
  });
});

describe.each(RUNNERS)('Job.fake() under $runner, from the installed tarball', ({ file, command }) => {
  const test = (target: string) => run(process.execPath, [...command, target], { cwd: app, env: { CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' } });

  it('passes the sample', async () => {
    const result = await test(file);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('fails a wrong assertion, printing what was dispatched', async () => {
    const failing = file.replace(/\.test\./, '.failing.test.');
    writeFileSync(path.join(app, failing), SAMPLES.get(file)!.replace(PASSING, FAILING));
    const result = await test(failing);
    const output = result.stdout + result.stderr;
    expect(result.code, output).not.toBe(0);
    expect(output).toContain('Expected SendWelcomeEmail (send-welcome-email) to be dispatched matching the predicate, but it was not.');
    expect(output).toContain('Dispatched:');
    expect(output).toContain('send-welcome-email on emails {"to":"ana@example.com"}');
  });
});
