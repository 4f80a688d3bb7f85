/**
 * `/metrics` as a real Prometheus (Debian's `prometheus` package) reads it: `promtool check
 * metrics` finds nothing to fix, a scrape gets no cookie, and the PromQL samples of the
 * dashboard page (docs/dashboard-and-metrics.md) are answered over a real scrape, with the job's
 * label as `job_name` beside Prometheus's own `job`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, makeApp, type TestApp } from '../helpers/app.ts';
import { until } from '../helpers/clock.ts';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** The PromQL lines of the dashboard page's first ```text block after "and ask:". */
function documentedQueries(): string[] {
  const page = readFileSync(path.join(REPO, 'docs', 'dashboard-and-metrics.md'), 'utf8');
  const block = /and ask:\n\n```text\n([\s\S]*?)```/.exec(page)?.[1];
  if (!block) throw new Error('docs/dashboard-and-metrics.md has no PromQL block after "and ask:"');
  return block.trim().split('\n');
}

let app: TestApp;
let dashboard: ChildProcess | null = null;
let prometheus: ChildProcess | null = null;
let scratch: string;
let dashboardUrl: string;
let prometheusUrl: string;

beforeAll(async () => {
  if (!existsSync(PROMETHEUS) || !existsSync(PROMTOOL)) throw new Error('Prometheus is not installed: apt-get install -y prometheus (Debian\'s package gives prometheus and promtool)');
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite', sleep_ms: 50, backoff: 0 });
  for (const args of [['job:table'], ['migrate']]) expect((await app.rakit(args)).code).toBe(0);
  for (let i = 0; i < 5; i++) expect((await app.rakit(['job:dispatch', 'record', '--payload', JSON.stringify({ tag: `t${i}` })])).code).toBe(0);
  expect((await app.rakit(['job:dispatch', 'always-fails'])).code).toBe(0);
  expect((await app.rakit(['job:dispatch', 'record', '--payload', '{"tag":"later"}', '--delay', '3600'])).code).toBe(0);
  const run = await app.rakit(['job:runall', '--stop-when-empty']);
  expect(run.code, run.stderr).toBe(0);

  const port = await freePort();
  dashboardUrl = `http://127.0.0.1:${port}`;
  dashboard = app.spawnRakit(['job:dashboard', '--port', String(port)]);
  await until(async () => (await fetch(`${dashboardUrl}/metrics`).catch(() => null))?.ok === true, 30_000, 100);

  scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-prom-'));
  const promPort = await freePort();
  prometheusUrl = `http://127.0.0.1:${promPort}`;
  writeFileSync(path.join(scratch, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: rakit\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\n`);
  prometheus = spawn(PROMETHEUS, [`--config.file=${path.join(scratch, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(scratch, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
}, 120_000);

afterAll(async () => {
  prometheus?.kill('SIGTERM');
  dashboard?.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300)); // their files are let go before the folders go
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  app?.remove();
});

async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
  return body.data!.result;
}

describe('/metrics read by a real Prometheus', () => {
  it('passes promtool check metrics, and a scrape gets no cookie', async () => {
    const response = await fetch(`${dashboardUrl}/metrics`);
    expect(response.headers.get('set-cookie')).toBeNull();
    const text = await response.text();
    expect(text).toContain('rakit_jobs_done_total{queue="default",job_name="record"} 5');
    const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });

  it('answers the documented PromQL over a real scrape, the job as job_name and the scrape as job', async () => {
    // Two scrapes at least, so rate() has two samples.
    await until(async () => Number((await query('count_over_time(rakit_workers_live[1m])').catch(() => []))[0]?.value[1] ?? 0) >= 2, 60_000, 250);
    const done = await query('rakit_jobs_done_total{job_name="record"}');
    expect(done.map((r) => [r.metric.job, r.metric.job_name, r.metric.queue, r.value[1]])).toEqual([['rakit', 'record', 'default', '5']]);
    expect(await query('rakit_jobs_done_total{job="record"}')).toEqual([]);

    const [rate, failed, ready, p95] = documentedQueries();
    expect(documentedQueries()).toHaveLength(4);
    expect((await query(rate!)).map((r) => [r.metric, Number(r.value[1])])).toEqual([[{ queue: 'default' }, 0]]);
    expect((await query(failed!)).map((r) => [r.metric.job_name, r.metric.queue, r.value[1]]).sort()).toEqual([['always-fails', 'default', '1'], ['record', 'default', '0']]);
    expect((await query(ready!)).map((r) => [r.metric.queue, r.value[1]])).toEqual([['default', '0']]);
    const quantiles = (await query(p95!)).map((r) => r.metric.job_name).sort();
    expect(quantiles).toEqual(['always-fails', 'record']);
  }, 90_000);
});
