/**
 * Fair shares per tenant (groups, src/store/claims/), measured as users run them: a test app,
 * `rakit job:runall --processes 2 --concurrency 8` as whole processes, on SQLite, PostgreSQL and
 * Redis. Four figures per store:
 * - flood: tenant A has FLOOD jobs queued and running; then tenants B…K dispatch one each: the
 *   time from each dispatch to its start (p50 and max of the ten);
 * - equal backlogs: TENANTS tenants with PER jobs each; every second the completed count of each
 *   is sampled (from the jobs' own log), and the spread (most − fewest) is given in jobs and as a
 *   share of the mean, over the samples where the mean is at least 40 jobs (below that two jobs are
 *   already 5 %: each worker process keeps its own turns, so two tenants may be two jobs apart);
 * - throughput: THROUGHPUT no-op jobs in 100 groups against the same jobs in none (jobs/s, ratio);
 * - groupConcurrency = 1: 40 groups of 10 jobs of 20 ms: the most of one group ever running at
 *   once, from the jobs' start and end stamps.
 * Run: `npx tsx bench/groups.ts [--stores sqlite,pg,redis] [--flood 100000] [--tenants 1000] [--per 40]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makeApp, type TestApp } from '../test/helpers/app.ts';
import { STORES } from '../test/helpers/stores.ts';

const { values } = parseArgs({ options: {
  stores: { type: 'string', default: 'sqlite,pg,redis' },
  flood: { type: 'string', default: '100000' },
  tenants: { type: 'string', default: '1000' },
  per: { type: 'string', default: '100' },
  throughput: { type: 'string', default: '20000' },
} });
const FLOOD = Number(values.flood);
const TENANTS = Number(values.tenants);
const PER = Number(values.per);
const THROUGHPUT = Number(values.throughput);
const WORKERS = ['job:runall', '--processes=2', '--concurrency=8'];

/** Logs `tenant startMs endMs` to storage/log-<pid> (one file per process: no interleaving), unless quiet. */
const TENANT_JOB = `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';
export default class Tenant extends Jobable<{ t: string; at?: number; quiet?: boolean; ms?: number }> {
  static group = (p: { t: string | null }) => p.t;
  async run() {
    const start = Date.now();
    if (this.get('ms')) await new Promise((r) => setTimeout(r, this.get('ms')));
    if (!this.get('quiet')) appendFileSync('storage/log-' + process.pid, \`\${this.get('t')} \${this.get('at') ?? 0} \${start} \${Date.now()}\\n\`);
  }
}
`;
const ONE_AT_A_TIME = TENANT_JOB.replace('class Tenant', 'class Serial').replace('static group', 'static groupConcurrency = 1;\n  static group');
const PLAIN = TENANT_JOB.replace('class Tenant', 'class Plain').replace(/ {2}static group.*\n/, '');

const dispatchScript = (job: string, payloads: string, chunk = 1000) => `import { Job } from 'rakit';
const all = ${payloads};
for (let i = 0; i < all.length; i += ${chunk}) await Job.dispatchMany('${job}', all.slice(i, i + ${chunk}));
await Job.close();`;

interface Line { t: string; at: number; start: number; end: number }
function lines(app: TestApp): Line[] {
  const dir = path.join(app.dir, 'storage');
  return readdirSync(dir).filter((f) => f.startsWith('log-')).flatMap((f) => readFileSync(path.join(dir, f), 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [t, at, start, end] = l.split(' ');
    return { t: t!, at: Number(at), start: Number(start), end: Number(end) };
  }));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}
async function stop(child: ReturnType<TestApp['spawnRakit']>) {
  const exited = new Promise((r) => child.on('close', r));
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  await exited;
}
async function run(app: TestApp, source: string, file: string) {
  const r = await app.script(file, source);
  if (r.code !== 0) throw new Error(`${file}: ${r.stderr}`);
}

async function measure(label: string) {
  const store = STORES.find((s) => s.label === label);
  if (!store) throw new Error(`no store ${label}`);
  const fresh = async () => {
    const made = await store.setup(mkdtempSync(path.join(os.tmpdir(), 'rakit-bench-groups-')));
    const app = makeApp({ ...made.config, sleep_ms: 50 });
    for (const [file, src] of [['Tenant.ts', TENANT_JOB], ['Serial.ts', ONE_AT_A_TIME], ['Plain.ts', PLAIN]]) app.write(`application/jobs/${file}`, src!);
    if (store.database) for (const args of [['job:table'], ['migrate']]) await app.rakit(args);
    return { app, drop: async () => { app.remove(); await made.drop(); } };
  };
  const out: Record<string, unknown> = { store: label };

  { // flood
    const { app, drop } = await fresh();
    await run(app, dispatchScript('tenant', `Array.from({ length: ${FLOOD} }, () => ({ t: 'A', quiet: true }))`, 5000), 'flood.ts');
    const workers = app.spawnRakit(WORKERS);
    await sleep(3000); // the flood is being worked off
    await run(app, `import { Job } from 'rakit';
await Job.dispatch('plain', { t: 'warm-up', quiet: true }).onQueue('warm-up'); // connected: the first time is not the connection's
for (const t of 'BCDEFGHIJK') await Job.dispatch('tenant', { t, at: Date.now() });
await Job.close();`, 'ten.ts');
    await until(() => lines(app).length >= 10, 60_000, 'the ten tenants ran');
    await stop(workers);
    const waits = lines(app).map((l) => l.start - l.at).sort((a, b) => a - b);
    out.floodStartP50 = waits[Math.floor(waits.length / 2)];
    out.floodStartMax = waits.at(-1);
    await drop();
  }
  { // equal backlogs
    const { app, drop } = await fresh();
    await run(app, dispatchScript('tenant', `Array.from({ length: ${TENANTS * PER} }, (_, i) => ({ t: 't' + (i % ${TENANTS}) }))`, 5000), 'equal.ts');
    const workers = app.spawnRakit(WORKERS);
    let worst = { spread: 0, mean: 0 };
    let samples = 0;
    for (;;) {
      await sleep(1000);
      const counts = new Map<string, number>();
      for (let t = 0; t < TENANTS; t++) counts.set(`t${t}`, 0);
      const done = lines(app);
      for (const l of done) counts.set(l.t, counts.get(l.t)! + 1);
      const v = [...counts.values()];
      const mean = done.length / TENANTS;
      if (mean >= 40 && mean <= PER - 1) {
        samples++;
        const spread = Math.max(...v) - Math.min(...v);
        if (spread / mean > worst.spread / (worst.mean || 1)) worst = { spread, mean };
      }
      if (done.length >= TENANTS * PER) break;
    }
    await stop(workers);
    out.equalSamples = samples;
    out.equalWorstSpreadJobs = worst.spread;
    out.equalWorstSpreadPct = worst.mean ? Math.round((1000 * worst.spread) / worst.mean) / 10 : null;
    await drop();
  }
  for (const grouped of [false, true]) { // throughput
    const { app, drop } = await fresh();
    await run(app, dispatchScript(grouped ? 'tenant' : 'plain', `Array.from({ length: ${THROUGHPUT} }, (_, i) => ({ t: 'g' + (i % 100), quiet: true }))`, 5000), 'tp.ts');
    const started = Date.now();
    const r = await app.rakit([...WORKERS, '--stop-when-empty']);
    if (r.code !== 0) throw new Error(r.stderr);
    out[grouped ? 'jobsPerSecondGroups' : 'jobsPerSecondPlain'] = Math.round(THROUGHPUT / ((Date.now() - started) / 1000));
    await drop();
  }
  out.throughputRatio = Math.round((100 * (out.jobsPerSecondGroups as number)) / (out.jobsPerSecondPlain as number)) / 100;
  { // groupConcurrency = 1
    const { app, drop } = await fresh();
    await run(app, dispatchScript('serial', `Array.from({ length: 400 }, (_, i) => ({ t: 's' + (i % 40), ms: 20 }))`), 'serial.ts');
    const r = await app.rakit([...WORKERS, '--stop-when-empty']);
    if (r.code !== 0) throw new Error(r.stderr);
    const byGroup = new Map<string, Line[]>();
    for (const l of lines(app)) byGroup.set(l.t, [...(byGroup.get(l.t) ?? []), l]);
    let most = 0;
    for (const runs of byGroup.values()) {
      for (const a of runs) most = Math.max(most, runs.filter((b) => b.start < a.end && a.start < b.end).length);
    }
    out.serialJobs = lines(app).length;
    out.serialMostAtOnce = most;
    await drop();
  }
  return out;
}

const rows = [];
for (const label of values.stores.split(',')) {
  const row = await measure(label);
  console.log(JSON.stringify(row));
  rows.push(row);
}
console.table(rows);
process.exit(0);
