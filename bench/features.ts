/**
 * What each feature costs a job that uses it, and that it costs nothing to one that does not:
 * the same no-op jobs worked off at concurrency 1 and 50 by one `rakit job:runall
 * --stop-when-empty`, once plain (off) and once using the feature (on), in alternating order by
 * round. A run is timed whole, start-up included (the same for both): a chain's jobs become due
 * one after another, so no job dispatched last marks the end of the work.
 * Features: `middleware` (one pass-through middleware), `progress` (one progress report per
 * job), `batch` (the jobs dispatched in batches of 100), `chain` (in chains of 10). Metrics
 * have their own rows (run.ts). `npm run bench -- --only features-sqlite,features-redis
 * --rss-jobs 0` runs these rows alone.
 */
import type { TestApp } from '../test/helpers/app.ts';
import { benchApp, median, timedRun } from './ours.ts';

export const FEATURES = ['middleware', 'progress', 'batch', 'chain'] as const;
export type Feature = (typeof FEATURES)[number];

/** The job class of the jobs that use a feature (plain Noop for the batch and the chain). */
const JOBS: Record<string, string> = {
  'application/jobs/MwNoop.ts': `import { Jobable, type JobMiddleware } from 'rakit';
const through: JobMiddleware = (_job, next) => next();
export default class MwNoop extends Jobable { static tries = 1; static middleware = [through]; run() {} }
`,
  'application/jobs/ProgressNoop.ts': `import { Jobable } from 'rakit';
export default class ProgressNoop extends Jobable { static tries = 1; run() { return this.progress(50); } }
`,
};

/** Dispatches `n` jobs for `feature` (null: plain no-op jobs), 100 calls in flight. */
async function fillFor(app: TestApp, feature: Feature | null, n: number): Promise<void> {
  const one = feature === 'middleware' ? 'MwNoop' : feature === 'progress' ? 'ProgressNoop' : 'Noop';
  const group = feature === 'batch' ? 100 : feature === 'chain' ? 10 : 1;
  const send = feature === 'batch' ? 'Job.batch(jobs).dispatch()' : feature === 'chain' ? 'Job.chain(jobs).dispatch()' : 'One.dispatch({})';
  const r = await app.script('fill-feature.ts', `
import { Job } from 'rakit';
import One from './application/jobs/${one}.ts';
let left = ${n};
await Promise.all(Array.from({ length: 100 }, async () => {
  while (left > 0) {
    const size = Math.min(${group}, left);
    left -= size;
    const jobs = ${group} > 1 ? Array.from({ length: size }, () => new One({})) : [];
    await ${send};
  }
}));
await Job.close();
`);
  if (r.code !== 0) throw new Error(r.stderr);
}

export interface FeatureCost { feature: Feature; concurrency: number; on: number; off: number }

/** jobs/s with the feature on and off, on two apps of `store`, the order alternating with `round`. */
export async function featureCost(store: string, feature: Feature, concurrency: number, n: number, round: number): Promise<FeatureCost> {
  const apps = { on: await benchApp(store), off: await benchApp(store) };
  for (const [file, source] of Object.entries(JOBS)) apps.on.app.write(file, source);
  try {
    const cost: FeatureCost = { feature, concurrency, on: NaN, off: NaN };
    for (const mode of round % 2 === 1 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      const { app } = apps[mode];
      await fillFor(app, mode === 'on' ? feature : null, n);
      cost[mode] = (n / (await timedRun(app, [`--concurrency=${concurrency}`]))) * 1000;
    }
    return cost;
  } finally {
    await apps.on.drop();
    await apps.off.drop();
  }
}

/** The rows of the table: per store, feature and concurrency, the medians over the rounds. */
export function featureRows(rounds: Record<string, FeatureCost[]>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [store, costs] of Object.entries(rounds)) {
    for (const feature of FEATURES) {
      for (const concurrency of [1, 50]) {
        const mine = costs.filter((c) => c.feature === feature && c.concurrency === concurrency);
        if (mine.length === 0) continue;
        extra[`${feature} on / off c=${concurrency} (${store})`] = median(mine.map((c) => c.on / c.off));
        extra[`${feature} off c=${concurrency} jobs/s (${store})`] = median(mine.map((c) => c.off));
      }
    }
  }
  return extra;
}
