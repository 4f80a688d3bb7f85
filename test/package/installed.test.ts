/**
 * What users get: the packed tarball installed into fresh TypeScript, ES-module JavaScript and
 * CommonJS JavaScript apps. In each: `rakit init`, then the README's quick start (its dispatch
 * sample in the app's module system, with plain `node` in the JavaScript apps) on SQLite and on
 * Redis (with ioredis installed beside it); a worker as the unprivileged user `nobody` after this
 * root install; a consumer's `tsc --strict` against the shipped types. And an app that installs
 * nothing but rakit: no store client comes with it, SQLite works, a store whose client is missing
 * is one line and exit 2, and the store works once its client is installed. And an app that
 * traces with OpenTelemetry: rakit finds the optional peer in the app's node_modules.
 */
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/app.ts';
import { REDIS_URL, dropRedisPrefix, requireRedis, uniqueName } from '../helpers/servers.ts';
import { installApp, listFiles, pack, rakit, readmeSamples, run, scratchDir, type AppKind } from './tarball.ts';

const scratch = scratchDir();
let tarball = '';
const KINDS: AppKind[] = ['ts', 'esm', 'cjs'];
const SAMPLE: Record<AppKind, string> = { ts: 'dispatch.ts', esm: 'dispatch.mjs', cjs: 'dispatch.cjs' };
const prefixes: string[] = [];

beforeAll(async () => {
  tarball = await pack(scratch);
}, 300_000);

afterAll(async () => {
  for (const prefix of prefixes) await dropRedisPrefix(REDIS_URL, prefix);
  rmSync(scratch, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('carries the built JavaScript, its types, the binary, templates and docs, and nothing else', async () => {
    const listing = await run('tar', ['-tzf', tarball], { cwd: scratch });
    const files = listing.stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const file of ['bin/rakit.js', 'dist/bin.js', 'dist/index.js', 'dist/index.cjs', 'dist/types/index.d.ts', 'README.md', 'package.json',
      'templates/init/ts/application/config/job.ts', 'templates/init/cjs/application/jobs/SendWelcomeEmail.cjs', 'supervisor/rakit-worker.conf', 'assets/dashboard/dashboard.css']) {
      expect(files, file).toContain(file);
    }
    const stray = files.filter((f) => /^(src|test|bench|scripts|\.ci|application|migrations|storage|node_modules)\//.test(f) || f.endsWith('.map'));
    expect(stray).toEqual([]);
  });
});

/** Each kind of app, installed once and used by the tests below in order. */
const apps = new Map<AppKind, string>();

describe.each(KINDS)('a %s app that installed the tarball', (kind) => {
  const app = path.join(scratch, `${kind}-app`);

  beforeAll(async () => {
    await installApp(app, kind, tarball, apps.get('ts') ?? REPO, ['ioredis@5']);
    apps.set(kind, app);
  }, 600_000);

  it('has a copy of the package, not a link, with no sources', () => {
    const installed = path.join(app, 'node_modules', 'rakit');
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    expect(existsSync(path.join(installed, 'src'))).toBe(false);
    expect(existsSync(path.join(installed, 'dist', 'index.js'))).toBe(true);
  });

  it('rakit init scaffolds the app in its language, and leaves it alone the second time', async () => {
    const ext = { ts: '.ts', esm: '.js', cjs: '.cjs' }[kind];
    const first = await rakit(app, ['init']);
    expect(first.code, first.stderr).toBe(0);
    for (const file of [`application/config/job${ext}`, `application/jobs/SendWelcomeEmail${ext}`, `application/events${ext}`, `application/schedule${ext}`, 'storage/']) {
      expect(first.stdout).toContain(`created ${file}`);
      expect(existsSync(path.join(app, file)), file).toBe(true);
    }
    const migrations = readdirSync(path.join(app, 'migrations'));
    // The job tables only: the scheduler keeps its state in their records table.
    expect(migrations).toEqual([expect.stringMatching(new RegExp(`^\\d{14}_create_rakit_jobs_table\\${ext}$`))]);
    expect(first.stdout).toMatch(/npx rakit migrate/);
    const config = readFileSync(path.join(app, `application/config/job${ext}`), 'utf8');
    writeFileSync(path.join(app, `application/config/job${ext}`), `${config}// edited\n`);
    const again = await rakit(app, ['init']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`left alone application/config/job${ext}`);
    expect(again.stdout).not.toContain('created');
    expect(readFileSync(path.join(app, `application/config/job${ext}`), 'utf8')).toContain('// edited');
    expect(readdirSync(path.join(app, 'migrations'))).toEqual(migrations);
  });

  it("runs the README's quick start on SQLite: migrate, dispatch from the app's code, work off", async () => {
    const migrated = await rakit(app, ['migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
    await dispatchAndWorkOff(app, kind, {});
  });

  it("runs the README's quick start on Redis", async () => {
    const prefix = uniqueName('pkg');
    prefixes.push(prefix);
    const url = await requireRedis();
    await dispatchAndWorkOff(app, kind, { JOB_DRIVER: 'redis', REDIS_URL: url, RAKIT_TEST_PREFIX: prefix });
  });
});

/**
 * The README's dispatch sample for this kind of app (plain `node` for JavaScript, tsx for
 * TypeScript), a job by name from the shell, then a worker that works them off and exits.
 */
async function dispatchAndWorkOff(app: string, kind: AppKind, env: NodeJS.ProcessEnv): Promise<void> {
  if (env.RAKIT_TEST_PREFIX) useRedisPrefix(app, kind, env.RAKIT_TEST_PREFIX);
  const sample = readmeSamples(readFileSync(path.join(REPO, 'README.md'), 'utf8')).get(SAMPLE[kind]);
  expect(sample, `README.md has a ${SAMPLE[kind]} sample`).toBeDefined();
  writeFileSync(path.join(app, SAMPLE[kind]), sample!);
  const runner = kind === 'ts' ? [path.join(app, 'node_modules', '.bin', 'tsx'), SAMPLE[kind]] : [SAMPLE[kind]];
  const before = existsSync(path.join(app, 'storage', 'mail.log')) ? readFileSync(path.join(app, 'storage', 'mail.log'), 'utf8').split('\n').length : 1;
  const dispatched = await run(process.execPath, runner, { cwd: app, env });
  expect(dispatched.code, dispatched.stderr).toBe(0);
  expect(dispatched.stdout).toMatch(/queued/);
  const ping = await rakit(app, ['job:dispatch', 'ping', '--payload', '{"from":"shell"}'], { env });
  expect(ping.code, ping.stderr).toBe(0);
  const worked = await rakit(app, ['job:runall', '--stop-when-empty'], { env });
  expect(worked.code, worked.stderr).toBe(0);
  expect(worked.stdout + worked.stderr).toMatch(env.JOB_DRIVER === 'redis' ? /Worker started on redis/ : /Worker started on database/);
  const mails = readFileSync(path.join(app, 'storage', 'mail.log'), 'utf8').split('\n');
  expect(mails.length - before).toBe(1);
  expect(mails.at(-2)).toContain('welcome mail to ada@example.com');
  expect(readFileSync(path.join(app, 'storage', 'ping.log'), 'utf8')).toContain('{"from":"shell"}');
}

/** Points the app's config at a Redis prefix of its own (the shared server is used by other tests). */
function useRedisPrefix(app: string, kind: AppKind, prefix: string): void {
  const file = path.join(app, 'application', 'config', `job${{ ts: '.ts', esm: '.js', cjs: '.cjs' }[kind]}`);
  const config = readFileSync(file, 'utf8').replace(/\n {2}prefix: '[^']*',/, '');
  writeFileSync(file, config.replace("  logging: true,", `  logging: true,\n  prefix: '${prefix}',`));
}

describe('an app that installs nothing but rakit', () => {
  const app = path.join(scratch, 'bare-app');
  const CLIENTS = ['mysql2', 'pg', 'ioredis', 'memcache-client'];

  beforeAll(async () => {
    await installApp(app, 'esm', tarball, apps.get('ts') ?? REPO);
  }, 600_000);

  it('gets no store client, and runs a job on SQLite', async () => {
    for (const client of CLIENTS) expect(existsSync(path.join(app, 'node_modules', client)), client).toBe(false);
    const init = await rakit(app, ['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Store: SQLite, built in: nothing more to install');
    expect(init.stdout).toContain('redis: npm install ioredis@5');
    const migrated = await rakit(app, ['migrate']);
    expect(migrated.code, migrated.stderr).toBe(0);
    await dispatchAndWorkOff(app, 'esm', {});
  });

  it('naming a store whose client is missing is one line with the npm install to run, and exit 2', async () => {
    const line = (store: string, client: string, major: number) =>
      `rakit: the ${store} store needs the ${client} package, which is not installed: run npm install ${client}@${major}\n`;
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{ JOB_DRIVER: 'redis' }, line('redis', 'ioredis', 5)],
      [{ JOB_DRIVER: 'memcached' }, line('memcached', 'memcache-client', 1)],
      [{ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' }, line('postgres', 'pg', 8)],
      [{ DATABASE_URL: 'mysql://root@127.0.0.1:3306/test' }, line('mysql', 'mysql2', 3)],
    ];
    for (const [env, expected] of cases) {
      for (const args of [['job:status'], ['job:dispatch', 'ping'], ['job:runall', '--stop-when-empty']]) {
        const result = await rakit(app, args, { env });
        expect(result.code, `${JSON.stringify(env)} ${args.join(' ')}`).toBe(2);
        expect(result.stderr).toBe(expected);
      }
    }
    const config = path.join(app, 'application', 'config', 'job.js');
    const original = readFileSync(config, 'utf8');
    writeFileSync(config, original.replace("driver: 'database'", "driver: 'redis'"));
    try {
      const result = await rakit(app, ['job:runall', '--stop-when-empty']);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(line('redis', 'ioredis', 5));
    } finally {
      writeFileSync(config, original);
    }
    const init = await rakit(app, ['init'], { env: { JOB_DRIVER: 'redis' } });
    expect(init.stdout).toContain('Store: redis, which needs the ioredis package: run npm install ioredis@5');
  });

  it('works on Redis once ioredis is installed', async () => {
    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', 'ioredis@5'], { cwd: app });
    expect(installed.code, installed.stderr).toBe(0);
    const prefix = uniqueName('pkg');
    prefixes.push(prefix);
    await dispatchAndWorkOff(app, 'esm', { JOB_DRIVER: 'redis', REDIS_URL: await requireRedis(), RAKIT_TEST_PREFIX: prefix });
    const init = await rakit(app, ['init'], { env: { JOB_DRIVER: 'redis' } });
    expect(init.stdout).toContain('Store: redis, which needs the ioredis package: installed');
  });
}, 600_000);

describe('an app that traces with OpenTelemetry', () => {
  const app = path.join(scratch, 'traced-app');
  const OTEL = ['@opentelemetry/api@~1.9.0', '@opentelemetry/sdk-trace-base@2.12.1', '@opentelemetry/sdk-trace-node@2.12.1'];
  const TRACING = `import { writeFileSync } from 'node:fs';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
process.on('exit', () => writeFileSync(\`storage/spans-\${process.pid}.json\`, JSON.stringify(exporter.getFinishedSpans().map((s) => ({
  name: s.name, kind: s.kind, traceId: s.spanContext().traceId, spanId: s.spanContext().spanId, parent: s.parentSpanContext?.spanId ?? null,
})))));
`;

  beforeAll(async () => {
    await installApp(app, 'esm', tarball, apps.get('ts') ?? REPO, OTEL);
  }, 600_000);

  it("finds @opentelemetry/api in the app's node_modules: the attempt in the worker is a child of the dispatch", async () => {
    expect(existsSync(path.join(app, 'node_modules', 'rakit', 'node_modules', '@opentelemetry'))).toBe(false);
    expect((await rakit(app, ['init'])).code).toBe(0);
    expect((await rakit(app, ['migrate'])).code).toBe(0);
    writeFileSync(path.join(app, 'application', 'tracing.js'), TRACING);
    const events = path.join(app, 'application', 'events.js');
    writeFileSync(events, `import './tracing.js';\n${readFileSync(events, 'utf8')}`);
    writeFileSync(path.join(app, 'dispatch.mjs'), `import './application/tracing.js';\nimport { Job } from 'rakit';\nawait Job.dispatch('ping', { from: 'traced' });\n`);
    const dispatched = await run(process.execPath, ['dispatch.mjs'], { cwd: app });
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const worked = await rakit(app, ['job:runall', '--stop-when-empty']);
    expect(worked.code, worked.stderr).toBe(0);
    const spans = readdirSync(path.join(app, 'storage')).filter((f) => f.startsWith('spans-'))
      .flatMap((f) => JSON.parse(readFileSync(path.join(app, 'storage', f), 'utf8')) as { name: string; kind: number; traceId: string; spanId: string; parent: string | null }[]);
    const dispatch = spans.find((s) => s.name === 'dispatch ping');
    const attempt = spans.find((s) => s.name === 'run ping');
    expect(dispatch).toMatchObject({ kind: 3, parent: null });
    expect(attempt).toMatchObject({ kind: 4, traceId: dispatch!.traceId, parent: dispatch!.spanId });
  });
});

describe('after a root install', () => {
  it('a worker runs as the unprivileged user nobody, writing nothing into node_modules', async () => {
    const app = apps.get('ts');
    expect(app, 'the TypeScript app was installed').toBeDefined();
    const modules = path.join(app!, 'node_modules');
    const before = listFiles(modules);
    chownRecursive(path.join(app!, 'storage'), 65534);
    const dispatched = await rakit(app!, ['job:dispatch', 'send-welcome-email', '--payload', '{"to":"nobody@example.com"}'], { as: 'nobody' });
    expect(dispatched.code, dispatched.stderr).toBe(0);
    const worked = await rakit(app!, ['job:runall', '--stop-when-empty'], { as: 'nobody' });
    expect(worked.code, worked.stderr).toBe(0);
    expect(readFileSync(path.join(app!, 'storage', 'mail.log'), 'utf8')).toContain('welcome mail to nobody@example.com');
    expect(listFiles(modules)).toEqual(before);
  });
});

describe("a consumer's tsc --strict, without skipLibCheck", () => {
  it('passes on the shipped types and the scaffolded TypeScript files', async () => {
    const app = apps.get('ts')!;
    writeFileSync(path.join(app, 'check.ts'), `import { Jobable, Job, Event, defineConfig, rateLimited, concurrencyLimited, throttleExceptions, skipIf, type JobConfigInput, type JobMiddleware } from 'rakit';

const config: JobConfigInput = defineConfig({ driver: 'redis', max_job: 0 });
const onlyAtNight: JobMiddleware = (job, next) => (new Date().getHours() < 6 ? next() : job.release(600));
class Resize extends Jobable<{ width: number; tenant: string }> {
  static tries = 2;
  static middleware = [rateLimited({ key: (p) => String(p.tenant), max: 10, per: 1 }), concurrencyLimited({ max: 2 }),
    throttleExceptions({ max: 5, per: 60 }), skipIf((job: Resize) => job.get('width') === 0), onlyAtNight];
  async run(): Promise<void> {
    const width: number = this.get('width');
    await this.progress(50, 'half way');
    void width;
  }
}
Event.listen('rakit.jobs.run: hello', async () => {});
Job.on('failed', (event) => console.log(event.job.name, event.error?.message, event.durationMs));
export async function main(): Promise<void> {
  await Resize.dispatch({ width: 100, tenant: 'acme' }).onQueue('low');
  await Job.dispatch('hello', {});
  void config;
}
`);
    const checked = await run(process.execPath, [path.join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: app });
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
  });

  it('the middleware are exported by both builds: import and require', async () => {
    for (const [kind, code] of [['esm', "import('rakit').then((r) => console.log(typeof r.rateLimited, typeof r.skipIf, typeof r.Job.on))"], ['cjs', "const r = require('rakit'); console.log(typeof r.rateLimited, typeof r.skipIf, typeof r.Job.on)"]] as const) {
      const loaded = await run(process.execPath, ['-e', code], { cwd: apps.get(kind)! });
      expect(loaded.stdout.trim(), `${kind}: ${loaded.stderr}`).toBe('function function function');
    }
  });
});

function chownRecursive(dir: string, uid: number): void {
  chownSync(dir, uid, uid);
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) chownSync(path.join(dir, entry), uid, uid);
}
