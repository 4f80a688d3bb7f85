/**
 * The binary loads the app's TypeScript config without a TypeScript loader, from a bundle it
 * keeps in the app's storage/cache (never in node_modules), keyed to the config's path and
 * content: an edit to the config or to a file it imports must count on the very next run,
 * `import.meta.url` must stay each file's own, a mistake must still be reported with its file and
 * line whatever was cached, and two apps sharing node_modules each run their own config. Job
 * files and migrations load in CommonJS apps too.
 */
import { existsSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp, type TestApp } from '../helpers/app.ts';

let app: TestApp;

const settings = (timezone: string) => `import { fileURLToPath } from 'node:url';
export const timezone = ${JSON.stringify(timezone)};
export const database = 'sqlite:' + fileURLToPath(new URL('../../storage/jobs.sqlite', import.meta.url));
`;

beforeAll(async () => {
  app = makeApp();
  app.write('application/config/settings.ts', settings('UTC'));
  app.write('application/config/job.ts', `import { defineConfig } from 'rakit';
import { database, timezone } from './settings.ts';
export default defineConfig({ database, timezone, sleep_ms: 50 });
`);
  expect((await app.rakit(['job:table'])).code).toBe(0);
  expect((await app.rakit(['migrate'])).code).toBe(0);
  expect((await app.rakit(['job:dispatch', 'record', '--payload', '{"tag":"kept"}'])).code).toBe(0);
});
afterAll(() => app?.remove());

describe('the app config under the binary', () => {
  it('keeps import.meta.url of each file: the database is where settings.ts puts it', async () => {
    expect(existsSync(path.join(app.dir, 'storage', 'jobs.sqlite'))).toBe(true);
    const status = await app.rakit(['job:status', '--json']);
    expect(status.stderr).toBe('');
    expect(JSON.parse(status.stdout).queues).toEqual([expect.objectContaining({ queue: 'default', ready: 1 })]);
  });

  it('uses an edited file the config imports on the next run, and the fixed one after', async () => {
    app.write('application/config/settings.ts', settings('Mars/Olympus'));
    const broken = await app.rakit(['job:status']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/"timezone": Unknown timezone "Mars\/Olympus"/);
    app.write('application/config/settings.ts', settings('Asia/Jakarta'));
    expect((await app.rakit(['job:status'])).code).toBe(0);
  });

  it('loads the jobs and migrations of a CommonJS app (what npm init writes)', async () => {
    const cjs = makeApp({ database: 'sqlite:storage/jobs.sqlite' });
    try {
      cjs.write('package.json', JSON.stringify({ name: 'cjs-app', private: true, type: 'commonjs' }));
      expect((await cjs.rakit(['job:table'])).code).toBe(0);
      const migrated = await cjs.rakit(['migrate']);
      expect(migrated.stderr).toBe('');
      expect(migrated.stdout).toMatch(/Migrated: \d+_create_rakit_jobs_table/);
      expect((await cjs.rakit(['job:dispatch', 'record', '--payload', '{"tag":"from-cjs"}', '--at', '2020-01-01 10:00'])).code).toBe(0);
      const run = await cjs.rakit(['job:runall', '--stop-when-empty']);
      expect(run.stderr.split('\n').filter((l) => l && !l.startsWith('{"level":30,'))).toEqual([]); // info log lines only
      expect(run.stderr).toMatch(/Worker stopped \(empty\): 1 done/);
      expect(cjs.ranLog()).toEqual(['from-cjs']);
    } finally {
      cjs.remove();
    }
  });

  it('names the config file the app has in a payload error (job.js here, not job.ts)', async () => {
    const js = makeApp({ database: 'sqlite:storage/jobs.sqlite', max_payload_bytes: 100 });
    try {
      rmSync(path.join(js.dir, 'application', 'config', 'job.ts'));
      js.write('application/config/job.js', "export default { database: 'sqlite:storage/jobs.sqlite', max_payload_bytes: 100 };\n");
      expect((await js.rakit(['job:table'])).code).toBe(0);
      expect((await js.rakit(['migrate'])).code).toBe(0);
      const big = await js.rakit(['job:dispatch', 'record', '--payload', JSON.stringify({ tag: 'x'.repeat(200) })]);
      expect(big.code).toBe(2);
      expect(big.stderr).toMatch(/over the limit of 100: send ids, not whole records \(or raise max_payload_bytes in application\/config\/job\.js\)/);
    } finally {
      js.remove();
    }
  });

  it('reports a syntax error in the config with its file and line', async () => {
    app.write('application/config/job.ts', "export default { driver: 'database',, };\n");
    const result = await app.rakit(['job:status']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/application\/config\/job\.ts failed to load: .*\n?.*job\.ts:1:\d+: ERROR: /);
  });

  it('keeps the compiled config in storage/cache of the app, and nothing in node_modules', () => {
    expect(readdirSync(path.join(app.dir, 'storage', 'cache'))).toContainEqual(expect.stringMatching(/^rakit-config-[0-9a-f]{16}\.mjs$/));
    expect(existsSync(path.join(app.dir, 'node_modules', '.cache'))).toBe(false);
  });

  it('fails with exit 2 on an unknown key, however the cached bundle looks (same size, same mtime)', async () => {
    app.write('application/config/job.ts', "export default { sleep_ms: 50, driver: 'file' };\n");
    expect((await app.rakit(['job:status'])).code).toBe(0);
    const file = path.join(app.dir, 'application', 'config', 'job.ts');
    const { atime, mtime } = statSync(file);
    for (let run = 0; run < 2; run++) {
      app.write('application/config/job.ts', "export default { sleeq_ms: 50, driver: 'file' };\n");
      utimesSync(file, atime, mtime);
      const result = await app.rakit(['job:status']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/unknown key "sleeq_ms" \(did you mean "sleep_ms"\?\)/);
    }
  });
});

describe('two releases sharing node_modules and storage through links', () => {
  it('each run their own config of the same name', async () => {
    const first = makeApp({ driver: 'file', file_path: 'storage/file-jobs' });
    const second = makeApp({ database: 'sqlite:storage/second.sqlite' });
    try {
      for (const part of ['node_modules', 'storage']) {
        rmSync(path.join(second.dir, part), { recursive: true, force: true });
        symlinkSync(path.join(first.dir, part), path.join(second.dir, part), 'dir');
      }
      expect((await second.rakit(['job:table'])).code).toBe(0);
      expect((await second.rakit(['migrate'])).code).toBe(0);
      for (const [release, count] of [[first, 1], [second, 2], [first, 1]] as const) {
        for (let i = 0; i < count; i++) expect((await release.rakit(['job:dispatch', 'record', '--payload', '{"tag":"x"}'])).code).toBe(0);
      }
      const ready = async (release: TestApp) => JSON.parse((await release.rakit(['job:status', '--json'])).stdout).queues[0].ready;
      expect(await ready(first)).toBe(2);
      expect(await ready(second)).toBe(2);
      expect(readdirSync(path.join(first.dir, 'storage', 'cache')).filter((f) => f.endsWith('.mjs'))).toHaveLength(2);
    } finally {
      second.remove();
      first.remove();
    }
  });
});
