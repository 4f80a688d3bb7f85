/**
 * `npm run bench`: our drivers and the peers side by side in one run, on the same servers —
 * dispatch rate, processing rate at concurrency 1 and 50, dispatch→start latency, a worker's
 * cold start, RSS over a long run, and the process manager's cost — as a table, the ratios
 * ours/peer against the targets, and JSON (bench/results/latest.json).
 * Bulk dispatch: n jobs in one call (our dispatchMany, BullMQ's addBulk) from a connected script.
 * The machines are noisy, so dispatch and processing are measured in rounds, each subject once per
 * round one after another, and the manager's cost (c=50 through it and in one process, in
 * alternating order) once per round too: a target is the median of its ratios over the rounds
 * (the figures of each round were taken minutes apart at most), and the table shows each
 * subject's median.
 * Beside those steady-state figures, whole processes from a shell (bench/shell.ts): a worker
 * run over N queued jobs on the shipped config and on the engine's (recycling and logging off),
 * startup included, and BullMQ's worker from a shell on the same Redis.
 * The cost of per-minute metrics: c=50 through the manager on two apps of one store, one with
 * `metrics: false`, in alternating order once per round (the ratio on/off, median over rounds).
 * The cost of each feature (bench/features.ts): middleware, progress, batch and chain jobs
 * against plain ones at c=1 and c=50, once per round (`features-sqlite`, `features-redis` in --only).
 * Dispatch on a request's path (bench/http.ts): a node:http app awaiting one dispatch per request
 * under autocannon, ours against BullMQ's queue.add and against no dispatch (`http` in --only).
 * The outbox's lag (bench/outbox.ts): commit → job pushed and started, Redis with the app's data
 * on PostgreSQL, MariaDB and SQLite, and the idle relay's queries (`outbox` in --only).
 * Options: --jobs N (default 20000; concurrency 1 uses N/4), --rounds N (default 3),
 * --rss-jobs N (default 1000000, the target's length; 0 skips), --only a,b (subjects; `shell`
 * names the whole-process rows, `metrics-sqlite` and `metrics-redis` the metrics cost alone),
 * --ops dispatch,bulk,c1,c50,latency (the per-subject measurements taken).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { REPO } from '../test/helpers/app.ts';
import { benchApp, emptyRunMs, fill, markedMs, median, OUR_STORES, workOff } from './ours.ts';
import { FEATURES, featureCost, featureRows, type FeatureCost } from './features.ts';
import { shellRuns } from './shell.ts';
import { httpRows, httpTable } from './http.ts';
import { OUTBOX_STORES, outboxLag, outboxRows, type OutboxLag } from './outbox.ts';

const { values } = parseArgs({ options: {
  jobs: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' }, 'rss-jobs': { type: 'string', default: '1000000' }, only: { type: 'string' },
  ops: { type: 'string', default: 'dispatch,bulk,c1,c50,latency' },
} });
/** The per-subject measurements taken (`--ops bulk --only rakit-redis,bullmq` for bulk dispatch alone); the others show –. */
const OPS = new Set(values.ops.split(','));
const timed = async (op: string, work: () => Promise<number>) => (OPS.has(op) ? work() : NaN);
const N = Number(values.jobs);
const N1 = Math.round(N / 4);
const ROUNDS = Math.max(1, Number(values.rounds));
const RSS_JOBS = Number(values['rss-jobs']);
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');
const MEASURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'measure.ts');
const run = promisify(execFile);

const ONLY = values.only?.split(',') ?? null;
const SUBJECTS = [...OUR_STORES.map((s) => `rakit-${s}`), 'bullmq', 'bee-queue', 'graphile-worker', 'laravel-loop']
  .filter((s) => !ONLY || ONLY.includes(s));

async function measure(subject: string, op: string, n: number, concurrency = 0): Promise<unknown> {
  const { stdout } = await run(TSX, [MEASURE, subject, op, String(n), String(concurrency)], { cwd: REPO, maxBuffer: 1 << 26, env: { ...process.env, RAKIT_LOG_LEVEL: 'warn' } });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { result: unknown }).result;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

interface Row { subject: string; dispatch: number; bulk: number; c1: number; c50: number; p50: number; p99: number }

/** Our stores whose process manager is weighed: c=50 through it and in one process. */
const MANAGED = (['sqlite', 'redis'] as const).filter(() => OPS.has('c50')).filter((s) => !values.only || values.only.split(',').includes(`rakit-${s}`));
interface ManagerCost { manager: number; inProcess: number }
const managerRounds: Record<string, ManagerCost[]> = {};

/** Both modes on one app, one after the other; the order alternates by round. */
async function managerCost(store: string, round: number): Promise<ManagerCost> {
  const { app, drop } = await benchApp(store);
  try {
    const cost: ManagerCost = { manager: NaN, inProcess: NaN };
    for (const inProcess of round % 2 === 1 ? [false, true] : [true, false]) {
      cost[inProcess ? 'inProcess' : 'manager'] = (N / (await workOff(app, N, ['--concurrency=50', ...(inProcess ? ['--in-process'] : [])]))) * 1000;
    }
    return cost;
  } finally {
    await drop();
  }
}
/** Stores whose metrics cost is weighed: c=50 with metrics on and off (named `rakit-S` or `metrics-S` in --only). */
const METERED = (['sqlite', 'redis'] as const).filter(() => OPS.has('c50')).filter((s) => !ONLY || ONLY.includes(`rakit-${s}`) || ONLY.includes(`metrics-${s}`));
interface MetricsCost { on: number; off: number }
const metricsRounds: Record<string, MetricsCost[]> = {};

/** c=50 on an app with metrics and on one without, on the same store, the order alternating by round. */
async function metricsCost(store: string, round: number): Promise<MetricsCost> {
  const apps = { on: await benchApp(store), off: await benchApp(store, { metrics: false }) };
  try {
    const cost: MetricsCost = { on: NaN, off: NaN };
    for (const mode of round % 2 === 1 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      cost[mode] = (N / (await workOff(apps[mode].app, N, ['--concurrency=50']))) * 1000;
    }
    return cost;
  } finally {
    await apps.on.drop();
    await apps.off.drop();
  }
}

/** Stores whose features are weighed, each on and off (named `rakit-S` or `features-S` in --only). */
const FEATURED = (['sqlite', 'redis'] as const).filter(() => OPS.has('c50')).filter((s) => !ONLY || ONLY.includes(`rakit-${s}`) || ONLY.includes(`features-${s}`));
const featureRounds: Record<string, FeatureCost[]> = {};

/** Each round's rows, in SUBJECTS order; latency is measured in the first round only. */
const rounds: Row[][] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const rows: Row[] = [];
  for (const subject of SUBJECTS) {
    process.stderr.write(`round ${round}/${ROUNDS}, ${subject}: dispatch… `);
    const dispatchMs = await timed('dispatch', async () => (await measure(subject, 'dispatch', N)) as number);
    process.stderr.write('bulk… ');
    const bulkMs = await timed('bulk', async () => (await measure(subject, 'bulk', N)) as number);
    process.stderr.write('c1… ');
    const c1Ms = await timed('c1', async () => (await measure(subject, 'process', N1, 1)) as number);
    process.stderr.write('c50… ');
    const c50Ms = await timed('c50', async () => (await measure(subject, 'process', N, 50)) as number);
    const latency = round === 1 && subject !== 'laravel-loop' && OPS.has('latency');
    process.stderr.write(latency ? 'latency…\n' : '\n');
    const lat = latency ? ((await measure(subject, 'latency', 200)) as number[]) : [];
    rows.push({ subject, dispatch: (N / dispatchMs) * 1000, bulk: (N / bulkMs) * 1000, c1: (N1 / c1Ms) * 1000, c50: (N / c50Ms) * 1000, p50: pct(lat, 50), p99: pct(lat, 99) });
  }
  rounds.push(rows);
  for (const store of MANAGED) {
    process.stderr.write(`round ${round}/${ROUNDS}, rakit-${store}: manager and in-process c50…\n`);
    (managerRounds[store] ??= []).push(await managerCost(store, round));
  }
  for (const store of METERED) {
    process.stderr.write(`round ${round}/${ROUNDS}, rakit-${store}: c50 with metrics on and off…\n`);
    const cost = await metricsCost(store, round);
    (metricsRounds[store] ??= []).push(cost);
    process.stderr.write(`  on ${cost.on.toFixed(0)}, off ${cost.off.toFixed(0)} jobs/s: ${(cost.on / cost.off).toFixed(2)}\n`);
  }
  for (const store of FEATURED) {
    for (const feature of FEATURES) {
      for (const [concurrency, n] of [[1, N1], [50, N]] as const) {
        process.stderr.write(`round ${round}/${ROUNDS}, rakit-${store}: ${feature} on and off, c=${concurrency}… `);
        const cost = await featureCost(store, feature, concurrency, n, round);
        (featureRounds[store] ??= []).push(cost);
        process.stderr.write(`${(cost.on / cost.off).toFixed(2)}\n`);
      }
    }
  }
}
/** Each subject's median over the rounds (latency from the first). */
const rows: Row[] = SUBJECTS.map((subject, i) => ({
  subject,
  dispatch: median(rounds.map((r) => r[i]!.dispatch)),
  bulk: median(rounds.map((r) => r[i]!.bulk)),
  c1: median(rounds.map((r) => r[i]!.c1)),
  c50: median(rounds.map((r) => r[i]!.c50)),
  p50: rounds[0]![i]!.p50,
  p99: rounds[0]![i]!.p99,
}));

// Cold start of an empty --stop-when-empty run (what cron pays each minute), and the manager's cost.
const extra: Record<string, number> = {};
for (const store of ['sqlite', 'redis'] as const) {
  if (!OPS.has('c50')) break;
  if (values.only && !values.only.split(',').includes(`rakit-${store}`)) continue;
  const { app, drop } = await benchApp(store);
  extra[`cold start ms (${store})`] = await emptyRunMs(app, [], 5);
  await drop();
}
for (const [store, costs] of Object.entries(managerRounds)) {
  extra[`manager c50 jobs/s (${store})`] = median(costs.map((c) => c.manager));
  extra[`in-process c50 jobs/s (${store})`] = median(costs.map((c) => c.inProcess));
  extra[`manager / in-process (${store})`] = median(costs.map((c) => c.manager / c.inProcess));
}
for (const [store, costs] of Object.entries(metricsRounds)) {
  extra[`metrics on c50 jobs/s (${store})`] = median(costs.map((c) => c.on));
  extra[`metrics off c50 jobs/s (${store})`] = median(costs.map((c) => c.off));
  extra[`metrics on / off (${store})`] = median(costs.map((c) => c.on / c.off));
}
Object.assign(extra, featureRows(featureRounds));
if (!ONLY || ONLY.includes('outbox')) {
  const lags: OutboxLag[] = [];
  for (const store of OUTBOX_STORES) {
    process.stderr.write(`outbox lag, redis+${store}…\n`);
    lags.push(await outboxLag(store));
  }
  Object.assign(extra, outboxRows(lags));
}
if (RSS_JOBS > 0 && OPS.has('c50') && (!ONLY || ONLY.includes('rakit-redis'))) Object.assign(extra, await rssOverLongRun(RSS_JOBS));
const shell = !ONLY || ONLY.includes('shell') ? await shellRuns(['sqlite', 'redis'], N, ROUNDS, true) : null;
const http = !ONLY || ONLY.includes('http') ? await httpRows(['redis', 'mysql', 'pg', 'sqlite'], 10) : null;

/** RSS of the manager and its worker process while one run works off `n` jobs on Redis. */
async function rssOverLongRun(n: number): Promise<Record<string, number>> {
  const { app, drop } = await benchApp('redis');
  await fill(app, n, true);
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'rakit.js'), 'job:runall', '--stop-when-empty', '--concurrency=50'],
    { cwd: app.dir, env: { ...app.env, RAKIT_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
  const samples: number[] = [];
  const timer = setInterval(() => {
    void run('ps', ['-o', 'rss=', '--ppid', String(child.pid)]).then(({ stdout }) => {
      const worker = stdout.trim().split('\n').map(Number).filter(Boolean);
      if (worker.length) samples.push(Math.max(...worker) / 1024);
    }).catch(() => undefined);
  }, 500);
  const code = await new Promise((r) => child.on('close', r));
  clearInterval(timer);
  // A run that stopped early or lost jobs would make a fast, flat and meaningless figure:
  // the last job dispatched ran (its Mark), and nothing is left or failed.
  const seconds = markedMs(app) / 1000;
  const status = await app.rakit(['job:status', '--json']);
  const left = (JSON.parse(status.stdout) as { queues: { ready: number; scheduled: number; reserved: number; failed: number }[] }).queues
    .reduce((t, q) => t + q.ready + q.scheduled + q.reserved + q.failed, 0);
  if (code !== 0 || left !== 0) throw new Error(`long run: exit ${String(code)}, ${left} jobs not done`);
  await drop();
  const tenth = Math.max(1, Math.floor(samples.length / 10));
  const early = median(samples.slice(tenth, 2 * tenth));
  const late = median(samples.slice(-tenth));
  return { 'long run jobs': n, 'long run jobs/s': n / seconds, 'worker RSS MB at 10-20%': early, 'worker RSS MB at 90-100%': late, 'RSS growth %': ((late - early) / early) * 100 };
}

const f = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const table = [
  '| subject | dispatch jobs/s | bulk dispatch jobs/s | c=1 jobs/s | c=50 jobs/s | p50 ms | p99 ms |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.subject} | ${f(r.dispatch)} | ${f(r.bulk)} | ${f(r.c1)} | ${f(r.c50)} | ${f(r.p50, 2)} | ${f(r.p99, 2)} |`),
].join('\n');
type Measure = 'dispatch' | 'bulk' | 'c1' | 'c50';
/** The median over the rounds of ours/theirs, each ratio from one round's figures. */
const ratio = (ours: string, theirs: string, measure: Measure) => {
  const i = SUBJECTS.indexOf(ours);
  const j = SUBJECTS.indexOf(theirs);
  return i < 0 || j < 0 ? NaN : median(rounds.map((r) => r[i]![measure] / r[j]![measure]));
};
const by = (s: string) => rows.find((r) => r.subject === s);
const httpRow = (prefix: string) => http?.find((r) => r.subject.startsWith(prefix));
const targets: [string, number, number, string][] = [
  ['redis c=50 / BullMQ', ratio('rakit-redis', 'bullmq', 'c50'), 3, '≥'],
  ['redis c=50 / bee-queue', ratio('rakit-redis', 'bee-queue', 'c50'), 2, '≥'],
  ['redis c=1 / BullMQ', ratio('rakit-redis', 'bullmq', 'c1'), 2, '≥'],
  ['redis dispatch / BullMQ', ratio('rakit-redis', 'bullmq', 'dispatch'), 1.5, '≥'],
  ['redis bulk dispatch / BullMQ addBulk', ratio('rakit-redis', 'bullmq', 'bulk'), 1, '≥'],
  ['SQLite bulk dispatch / BullMQ addBulk', ratio('rakit-sqlite', 'bullmq', 'bulk'), 1, '≥'],
  ['MariaDB bulk dispatch / BullMQ addBulk', ratio('rakit-mysql', 'bullmq', 'bulk'), 1, '≥'],
  ['PostgreSQL bulk dispatch / BullMQ addBulk', ratio('rakit-pg', 'bullmq', 'bulk'), 1, '≥'],
  ['MariaDB c=1 / Laravel loop', ratio('rakit-mysql', 'laravel-loop', 'c1'), 10, '≥'],
  ['MariaDB c=50 / Laravel loop ×50', ratio('rakit-mysql', 'laravel-loop', 'c50'), 10, '≥'],
  ['PostgreSQL c=50 / graphile-worker', ratio('rakit-pg', 'graphile-worker', 'c50'), 3, '≥'],
  ['SQLite c=50 jobs/s', by('rakit-sqlite')?.c50 ?? NaN, 10_000, '≥'],
  ['redis p99 dispatch→start ms', by('rakit-redis')?.p99 ?? NaN, 5, '≤'],
  ...OUTBOX_STORES.map((s): [string, number, number, string] => [`outbox p99 commit→started ms (redis+${s})`, extra[`outbox commit→started p99 ms (redis+${s})`] ?? NaN, 50, '≤']),
  ['empty --stop-when-empty run ms (sqlite)', extra['cold start ms (sqlite)'] ?? NaN, 300, '≤'],
  ['RSS growth % over the long run', extra['RSS growth %'] ?? NaN, 10, '≤'],
  ['manager / in-process c=50 (redis)', extra['manager / in-process (redis)'] ?? NaN, 0.9, '≥'],
  ['metrics on / off c=50 (sqlite)', extra['metrics on / off (sqlite)'] ?? NaN, 0.95, '≥'],
  ['metrics on / off c=50 (redis)', extra['metrics on / off (redis)'] ?? NaN, 0.95, '≥'],
  ['shell: shipped / engine time (sqlite)', shell?.ratios.sqlite ?? NaN, 1.25, '≤'],
  ['shell: shipped / engine time (redis)', shell?.ratios.redis ?? NaN, 1.25, '≤'],
  ['http req/s: rakit-redis / BullMQ', (httpRow('rakit-redis')?.requestsPerSecond ?? NaN) / (httpRow('bullmq')?.requestsPerSecond ?? NaN), 1.5, '≥'],
  ['http dispatch p99 ms (redis)', httpRow('rakit-redis')?.p99 ?? NaN, 2, '≤'],
  ['http dispatch p99 ms (MariaDB)', httpRow('rakit-mysql')?.p99 ?? NaN, 5, '≤'],
  ['http dispatch p99 ms (PostgreSQL)', httpRow('rakit-pg')?.p99 ?? NaN, 5, '≤'],
];
const targetTable = [
  '| measure | value | target | met |', '|---|---:|---:|---|',
  ...targets.map(([name, v, t, cmp]) => `| ${name} | ${f(v, 2)} | ${cmp} ${t} | ${Number.isNaN(v) ? '–' : (cmp === '≥' ? v >= t : v <= t) ? 'yes' : 'no'} |`),
].join('\n');
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`rakit jobs benchmark — ${new Date().toISOString().slice(0, 10)}, ${machine}; ${N} no-op jobs (c=1: ${N1}), median of ${ROUNDS} rounds\n`);
console.log(table);
console.log('');
if (shell) {
  console.log(`Whole processes from a shell, startup included: \`job:runall --stop-when-empty --concurrency=50\` over ${N} queued no-op jobs\n`);
  console.log(['| run | ms | jobs/s |', '|---|---:|---:|', ...shell.rows.map((r) => `| ${r.subject} | ${f(r.ms)} | ${f(r.jobsPerSecond)} |`)].join('\n'));
  console.log('');
}
if (http) {
  console.log('Dispatch on a request\'s path: a node:http app awaiting one dispatch per request, autocannon at 20 connections for 10 s, shipped logging\n');
  console.log(httpTable(http));
  console.log('');
}
console.log(Object.entries(extra).map(([k, v]) => `- ${k}: ${f(v, Math.abs(v) < 10 ? 2 : 1)}`).join('\n'));
console.log('');
console.log(targetTable);
mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(REPO, 'bench', 'results', 'latest.json'), `${JSON.stringify({ date: new Date().toISOString(), machine, jobs: N, rounds, rows, shell, http, extra, metricsRounds, targets: targets.map(([name, value, target, cmp]) => ({ name, value, target, cmp })) }, null, 2)}\n`);
process.exit(0);
