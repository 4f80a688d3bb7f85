/**
 * What the process manager costs: the same no-op jobs worked off by `rakit job:runall
 * --stop-when-empty` through the manager (1 worker process) and `--in-process`, on SQLite and
 * Redis, at concurrency 1 and 50. Startup on an empty queue is measured and taken out, so the
 * figures are throughput of the working loop. Usage: npm run bench:manager -- [--jobs 5000]
 */
import { parseArgs } from 'node:util';
import { makeApp, type TestApp } from '../test/helpers/app.ts';
import { dropRedisPrefix, requireRedis, uniqueName } from '../test/helpers/servers.ts';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.jobs);
const ROUNDS = Number(values.rounds);

const NOOP = `import { Jobable } from 'rakit';\nexport default class Noop extends Jobable { static tries = 1; run() {} }\n`;

async function fill(app: TestApp): Promise<void> {
  const r = await app.script('fill.ts', `
    import { Job } from 'rakit';
    import Noop from './application/jobs/Noop.ts';
    for (let i = 0; i < ${N}; i += 100) await Promise.all(Array.from({ length: 100 }, () => Noop.dispatch({})));
    await Job.close();
  `);
  if (r.code !== 0) throw new Error(r.stderr);
}

async function timed(app: TestApp, args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await app.rakit(['job:runall', '--stop-when-empty', ...args], { RAKIT_LOG_LEVEL: 'warn' });
  if (r.code !== 0) throw new Error(r.stderr);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const stores: [string, () => Promise<{ config: Record<string, unknown>; drop(): Promise<void> }>][] = [
  ['sqlite', async () => ({ config: { database: 'sqlite:storage/jobs.sqlite' }, drop: async () => {} })],
  ['redis', async () => {
    const url = await requireRedis();
    const prefix = uniqueName('bench');
    return { config: { driver: 'redis', redis: url, prefix }, drop: () => dropRedisPrefix(url, prefix) };
  }],
];

console.log(`manager overhead: ${N} no-op jobs, median of ${ROUNDS} rounds, startup on an empty queue taken out`);
console.log('store   conc  in-process jobs/s  manager jobs/s  manager/in-process');
for (const [store, setup] of stores) {
  const { config, drop } = await setup();
  const app = makeApp({ ...config, max_job: 0, sleep_ms: 100 });
  app.write('application/jobs/Noop.ts', NOOP);
  await app.rakit(['job:table']);
  await app.rakit(['migrate']);
  for (const concurrency of [1, 50]) {
    const rate: Record<string, number[]> = { inline: [], managed: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [mode, extra] of [['inline', ['--in-process']], ['managed', []]] as const) {
        const args = [`--concurrency=${concurrency}`, ...extra];
        const startup = await timed(app, args);
        await fill(app);
        const total = await timed(app, args);
        rate[mode]!.push(N / ((total - startup) / 1000));
      }
    }
    const inline = median(rate.inline!);
    const managed = median(rate.managed!);
    console.log(`${store.padEnd(7)} ${String(concurrency).padStart(4)}  ${inline.toFixed(0).padStart(17)}  ${managed.toFixed(0).padStart(14)}  ${(managed / inline).toFixed(3).padStart(18)}`);
  }
  app.remove();
  await drop();
}
