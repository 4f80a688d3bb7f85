/**
 * A production run as a test (full tier): a plain node:http app whose `POST /orders` awaits
 * `RecordOrder.dispatch({ id })` and answers 201, driven by autocannon on loopback (20
 * connections, ~15 s, a bounded count), while `job:runall --processes=2 --concurrency=8` works the
 * queue; two worker processes are killed with kill -9 and the app is restarted once (gracefully).
 * Afterwards: what was accepted ran, as sets (nothing lost, nothing phantom); every second run is
 * of a job in flight in a killed process; no job stays reserved for a killed process more than
 * 2 s after the kill (the manager gives it back at once); and the run's closing summary counts
 * what was recorded, the killed processes' jobs included. Each store prints a table.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import knexFactory, { type Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { REPO, makeApp, type TestApp } from '../helpers/app.ts';
import { REDIS_URL, dropRedisPrefix, requireRedis, scratchDatabase, uniqueName } from '../helpers/servers.ts';

type Store = 'sqlite' | 'mysql' | 'pg' | 'redis';
const TSX_LOADER = path.join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const JOB = `import { appendFileSync } from 'node:fs';
import { Jobable } from 'rakit';

export default class RecordOrder extends Jobable<{ id: string }> {
  static timeout = 120; // a lease of 135 s: a job left reserved would be noticed
  async run() {
    const id = this.get('id');
    appendFileSync('storage/ran.log', \`start \${id} \${process.pid} \${Date.now()}\\n\`);
    await new Promise((resolve) => setTimeout(resolve, 2)); // its work: a little time on purpose
    appendFileSync('storage/ran.log', \`done \${id} \${process.pid} \${Date.now()}\\n\`);
  }
}
`;

const SERVER = `import { appendFileSync } from 'node:fs';
import http from 'node:http';
import { Job } from 'rakit';
import RecordOrder from './application/jobs/RecordOrder.ts';

let inflight = 0;
let closing = false;
let exiting = false;
// A restart: answer what came in (dispatched and logged), then go.
const maybeExit = () => {
  if (!closing || inflight > 0 || exiting) return;
  exiting = true;
  void Job.close().then(() => process.exit(0));
};
const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/orders') return void res.writeHead(404).end();
  inflight++;
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    try {
      const { id } = JSON.parse(body);
      await RecordOrder.dispatch({ id });
      appendFileSync('storage/accepted.log', id + '\\n');
      res.writeHead(201).end();
    } catch (error) {
      console.error('POST /orders answered 500: ' + String(error));
      res.writeHead(500).end(String(error));
    } finally {
      inflight--;
      maybeExit();
    }
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening ' + server.address().port));
process.on('SIGTERM', () => {
  closing = true;
  server.close(maybeExit);
  setInterval(() => server.closeIdleConnections(), 20);
});
`;

interface Report {
  store: Store;
  reqPerSec: number;
  accepted: number;
  ran: number;
  lost: number;
  phantom: number;
  duplicates: number;
  unexplained: number;
  longestHeldMs: number;
  summary: string;
}

/** What a store needs: the app's config, a look at who holds jobs, and cleanup. */
async function storeFor(store: Store, app: () => TestApp): Promise<{ config: Record<string, unknown>; heldBy(owner: string): Promise<number>; drop(): Promise<void> }> {
  if (store === 'redis') {
    await requireRedis();
    const prefix = uniqueName('load');
    const redis = new Redis(REDIS_URL);
    return {
      config: { driver: 'redis', redis: REDIS_URL, prefix },
      async heldBy(owner) {
        const tokens = await redis.hvals(`${prefix}:{default}:tok`);
        return tokens.filter((t) => t.startsWith(`${owner}-`)).length;
      },
      async drop() {
        redis.disconnect();
        await dropRedisPrefix(REDIS_URL, prefix);
      },
    };
  }
  let db: Knex;
  let drop = async () => {};
  let config: Record<string, unknown>;
  if (store === 'sqlite') {
    config = { database: 'sqlite:storage/jobs.sqlite' };
    db = null as unknown as Knex;
  } else {
    const scratch = await scratchDatabase(store);
    config = { database: scratch.url };
    db = knexFactory({ client: store === 'mysql' ? 'mysql2' : 'pg', connection: scratch.url, pool: { min: 0, max: 1 } });
    drop = async () => {
      await db.destroy();
      await scratch.drop();
    };
  }
  return {
    config,
    async heldBy(owner) {
      db ??= knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(app().dir, 'storage', 'jobs.sqlite') }, useNullAsDefault: true });
      const [row] = (await db('rakit_jobs').where('reserved_by', 'like', `${owner}-%`).count({ n: '*' })) as { n: unknown }[];
      return Number(row?.n ?? 0);
    },
    async drop() {
      if (store === 'sqlite') await db?.destroy();
      await drop();
    },
  };
}

/** The manager's worker processes, with the owner their claims are made for (from their environment). */
function workersOf(managerPid: number): { pid: number; owner: string }[] {
  let pids: number[] = [];
  try {
    pids = execFileSync('pgrep', ['-P', String(managerPid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return pids.flatMap((pid) => {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('RAKIT_WORKER='));
      const owner = env && (JSON.parse(env.slice('RAKIT_WORKER='.length)) as { owner?: string }).owner;
      return owner ? [{ pid, owner }] : [];
    } catch {
      return [];
    }
  });
}

function startServer(app: TestApp, port: number): Promise<{ child: ChildProcess; port: number }> {
  // The app's own process (tsx as a loader, not its CLI in front), so a SIGTERM reaches the app and its restart is graceful.
  const child = spawn(process.execPath, ['--import', pathToFileURL(TSX_LOADER).href, 'server.ts'], { cwd: app.dir, env: { ...app.env, PORT: String(port), RAKIT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(String(d));
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`the app exited (${code}) before it listened`)));
  });
}

async function productionRun(store: Store): Promise<Report> {
  const made: { app?: TestApp } = {};
  const backend = await storeFor(store, () => made.app!);
  const app = (made.app = makeApp({ ...backend.config, sleep_ms: 50, max_job: 0 }));
  /** The manager and the app, ended whatever happens to the test. */
  const running: ChildProcess[] = [];
  try {
    app.write('application/jobs/RecordOrder.ts', JOB);
    app.write('server.ts', SERVER);
    for (const args of [['job:table'], ['migrate']]) {
      const r = await app.rakit(args);
      expect(r.code, r.stderr).toBe(0);
    }
    const manager = spawn(process.execPath, [path.join(REPO, 'bin', 'rakit.js'), 'job:runall', '--processes=2', '--concurrency=8'],
      { cwd: app.dir, env: { ...app.env, RAKIT_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    running.push(manager);
    let managerLog = '';
    manager.stderr!.on('data', (d) => (managerLog += d));
    const managerExit = new Promise((resolve) => manager.on('exit', resolve));
    let server = await startServer(app, 0);
    running.push(server.child);
    const port = server.port;

    let n = 0;
    const load = autocannon({
      url: `http://127.0.0.1:${port}`, connections: 20, duration: 15, maxOverallRequests: 400_000,
      requests: [{
        method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ id: `o${n++}` }) }),
      }],
    });
    // Two kills of a worker process and one restart of the app, while the load runs.
    const kills: { pid: number; owner: string; at: number; heldMs: number }[] = [];
    const began = Date.now();
    let restartedAt = 0;
    const chaos = (async () => {
      for (const [at, what] of [[4000, 'kill'], [8000, 'restart'], [11_000, 'kill']] as const) {
        await sleep(Math.max(0, began + at - Date.now())); // the chaos's timeline within the 15 s of load: wall time
        if (what === 'restart') {
          restartedAt = Date.now();
          server.child.kill('SIGTERM');
          await new Promise((resolve) => server.child.once('exit', resolve));
          server = await startServer(app, port);
          running.push(server.child);
          continue;
        }
        const [victim] = workersOf(manager.pid!);
        if (!victim) continue;
        process.kill(victim.pid, 'SIGKILL');
        const killedAt = Date.now();
        // How long the store still holds jobs for it.
        while ((await backend.heldBy(victim.owner)) > 0 && Date.now() - killedAt < 30_000) await sleep(25);
        kills.push({ ...victim, at: killedAt, heldMs: Date.now() - killedAt });
      }
    })();
    const [result] = await Promise.all([load, chaos]);
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));

    const lines = () => readFileSync(path.join(app.dir, 'storage', 'ran.log'), 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
    const accepted = new Set(readFileSync(path.join(app.dir, 'storage', 'accepted.log'), 'utf8').split('\n').filter(Boolean));
    const doneIds = () => new Set(lines().filter((l) => l[0] === 'done').map((l) => l[1]!));
    const deadline = Date.now() + 90_000;
    const waiting = () => {
      const done = doneIds();
      return [...accepted].some((id) => !done.has(id));
    };
    while (waiting() && Date.now() < deadline) await sleep(500);
    manager.kill('SIGTERM');
    await managerExit;

    const ran = doneIds();
    const killed = new Set(kills.map((k) => String(k.pid)));
    const starts = new Map<string, string[]>();
    for (const [kind, id, pid] of lines()) if (kind === 'start') starts.set(id!, [...(starts.get(id!) ?? []), pid!]);
    const duplicates = [...starts].filter(([, pids]) => pids.length > 1);
    const unexplained = duplicates.filter(([, pids]) => !pids.slice(0, -1).every((pid) => killed.has(pid)));
    const summary = /Worker stopped \([a-z-]+\): (\d+) done, (\d+) retried, (\d+) failed/.exec(managerLog);
    const report: Report = {
      store, reqPerSec: Math.round(result.requests.average), accepted: accepted.size, ran: ran.size,
      lost: [...accepted].filter((id) => !ran.has(id)).length, phantom: [...ran].filter((id) => !accepted.has(id)).length,
      duplicates: duplicates.length, unexplained: unexplained.length, longestHeldMs: Math.max(0, ...kills.map((k) => k.heldMs)),
      summary: summary?.[0] ?? '(none)',
    };
    const phantoms = lines().filter(([kind, id]) => kind === 'start' && !accepted.has(id!)).slice(0, 5);
    if (phantoms.length) console.log(`${store}: phantoms, started at (ms after the start of the load; the app restarted at ${restartedAt - began}):`, phantoms.map(([, id, , at]) => `${id}@${Number(at) - began}`).join(' '));
    console.log(`${store}: ${result.non2xx} answers other than 2xx, ${result.errors} connection errors, ${result.timeouts} timeouts`);
    console.log([
      `| store | req/s | accepted | ran | lost | phantom | duplicates (in flight in a killed process) | longest hold after a kill | summary |`,
      `| ${store} | ${report.reqPerSec} | ${report.accepted} | ${report.ran} | ${report.lost} | ${report.phantom} | ${report.duplicates} (${report.duplicates - report.unexplained}) | ${report.longestHeldMs} ms | ${report.summary} |`,
    ].join('\n'));
    expect(kills, managerLog).toHaveLength(2);
    expect(report.accepted).toBeGreaterThan(200);
    expect(report.lost).toBe(0);
    expect(report.phantom).toBe(0);
    expect(unexplained.map(([id, pids]) => `${id}: ${pids.join(',')}`)).toEqual([]);
    expect(report.longestHeldMs).toBeLessThanOrEqual(2000);
    // Each accepted order was recorded done once, by a live or a killed process alike.
    expect(summary, managerLog).not.toBeNull();
    expect(Number(summary![1])).toBe(report.accepted);
    expect(Number(summary![3])).toBe(0);
    return report;
  } finally {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    app.remove();
    await backend.drop();
  }
}

describe('a production run: an HTTP app under load, two kill -9 of worker processes, an app restart', () => {
  for (const store of ['sqlite', 'mysql', 'pg', 'redis'] as const) {
    it(`on ${store}: accepted = ran, none lost or phantom, duplicates only from killed processes, the summary true`, async () => {
      await productionRun(store);
    }, 240_000);
  }
});
