/**
 * Dispatch on a request's path: a plain `node:http` app that awaits one dispatch per request,
 * loaded by autocannon at 20 connections, against the same app using BullMQ's `queue.add` on the
 * same Redis and against the app with no dispatch at all. Each server runs in a process of its
 * own, as a user's would, with the shipped logging (nothing is silenced): the row gives its
 * requests per second, the time `dispatch()` took inside the server (p50, p99) and the bytes
 * it wrote to its output. `npm run bench -- --only http`, or `tsx bench/http.ts [seconds]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { REPO } from '../test/helpers/app.ts';
import { benchApp } from './ours.ts';

export interface HttpRow { subject: string; requestsPerSecond: number; p50: number; p99: number; outputBytes: number; errors: number }

/** The server: one dispatch per request (DISPATCH is the statement), the time it took kept; its stats on /stats. */
const server = (imports: string, dispatch: string, close: string) => `${imports}
import http from 'node:http';
import { performance } from 'node:perf_hooks';
const took = [];
let n = 0;
const srv = http.createServer(async (req, res) => {
  if (req.url === '/stats') {
    took.sort((a, b) => a - b);
    const at = (p) => took[Math.min(took.length - 1, Math.floor(took.length * p))] ?? 0;
    res.end(JSON.stringify({ n: took.length, p50: at(0.5), p99: at(0.99) }));
    return;
  }
  const start = performance.now();
  ${dispatch}
  took.push(performance.now() - start);
  res.end('ok');
});
srv.listen(0, '127.0.0.1', () => console.error('listening ' + srv.address().port));
process.on('SIGTERM', async () => { srv.close(); ${close}; process.exit(0); });
`;

const RAKIT = server(`import { Job } from 'rakit';\nimport Noop from './application/jobs/Noop.ts';`, `await Noop.dispatch({ n: n++ });`, 'await Job.close()');
const BULLMQ = server(`import { Queue } from 'bullmq';\nconst queue = new Queue('bench-http', { connection: { host: '127.0.0.1', port: 6379 } });\nawait queue.obliterate({ force: true });`,
  `await queue.add('noop', { n: n++ }, { removeOnComplete: true });`, 'await queue.obliterate({ force: true }); await queue.close()');
const PLAIN = server('', 'n++;', '');

async function start(cwd: string, file: string, source: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; output: () => number }> {
  writeFileSync(path.join(cwd, file), source);
  const child = spawn(path.join(REPO, 'node_modules', '.bin', 'tsx'), [file], { cwd, env });
  let bytes = 0;
  child.stdout!.on('data', (d: Buffer) => (bytes += d.length));
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /listening (\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
      else bytes += d.length;
    });
    child.on('exit', (code) => reject(new Error(`server exited ${String(code)}: ${seen}`)));
  });
  return { child, port, output: () => bytes };
}

async function load(subject: string, cwd: string, file: string, source: string, env: NodeJS.ProcessEnv, seconds: number): Promise<HttpRow> {
  const { child, port, output } = await start(cwd, file, source, env);
  try {
    const url = `http://127.0.0.1:${port}/`;
    await fetch(url); // the first dispatch opens the store (seconds on a busy machine), as once in an app's life
    await autocannon({ url, connections: 20, duration: 1 }); // warm: connections made, code compiled
    await fetch(`${url}stats`);
    const before = output();
    const result = await autocannon({ url, connections: 20, duration: seconds });
    const stats = (await (await fetch(`${url}stats`)).json()) as { p50: number; p99: number };
    return { subject, requestsPerSecond: result.requests.average, p50: stats.p50, p99: stats.p99, outputBytes: output() - before, errors: result.errors + result.non2xx };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
  }
}

/** One row per subject: rakit on each store given, BullMQ on Redis, and no dispatch. */
export async function httpRows(stores: readonly string[], seconds: number): Promise<HttpRow[]> {
  const rows: HttpRow[] = [];
  const plainDir = mkdtempSync(path.join(os.tmpdir(), 'rakit-http-'));
  try {
    rows.push(await load('no dispatch', plainDir, 'plain.mjs', PLAIN, process.env, seconds));
    // BullMQ from this repository's node_modules, as the other peers are.
    rows.push(await load('bullmq queue.add', REPO, '.bench-http-bullmq.mjs', BULLMQ, process.env, seconds));
  } finally {
    rmSync(plainDir, { recursive: true, force: true });
    rmSync(path.join(REPO, '.bench-http-bullmq.mjs'), { force: true });
  }
  for (const store of stores) {
    const { app, drop } = await benchApp(store, { logging: true });
    try {
      const env = { ...app.env };
      delete env.RAKIT_LOG_LEVEL; // the shipped level
      rows.push(await load(`rakit-${store} dispatch`, app.dir, 'server.ts', RAKIT, env, seconds));
    } finally {
      await drop();
    }
  }
  return rows;
}

export function httpTable(rows: readonly HttpRow[]): string {
  const bullmq = rows.find((r) => r.subject.startsWith('bullmq'))?.requestsPerSecond ?? NaN;
  return ['| server (20 connections) | req/s | / BullMQ | dispatch p50 ms | dispatch p99 ms | output bytes | errors |', '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.subject} | ${r.requestsPerSecond.toFixed(0)} | ${(r.requestsPerSecond / bullmq).toFixed(2)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.outputBytes} | ${r.errors} |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? 10);
  console.log(httpTable(await httpRows(['redis', 'mysql', 'pg', 'sqlite'], seconds)));
}
