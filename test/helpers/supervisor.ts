/**
 * A private supervisord for a test: its own socket, pid file and logs in a temp folder, loading
 * the program files under `<dir>/conf.d`. The Debian package provides the binaries.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { until } from './clock.ts';
const run = promisify(execFile);
/** Each look starts a supervisorctl process: look every 200 ms. */
export const POLL_MS = 200;

export interface ProcessStatus {
  name: string;
  state: string;
  pid: number | null;
}

export interface TestSupervisor {
  conf: string;
  ctl(...args: string[]): Promise<{ code: number; stdout: string }>;
  status(): Promise<ProcessStatus[]>;
  /** Waits until `count` processes are RUNNING; returns them. */
  running(count: number, timeoutMs?: number): Promise<ProcessStatus[]>;
  shutdown(): Promise<void>;
}

export function requireSupervisord(): void {
  try {
    execFileSync('supervisord', ['--version'], { stdio: 'pipe' });
  } catch {
    throw new Error('supervisord is not installed: run `apt-get update && apt-get install -y supervisor` (.ci/run does)');
  }
}

export async function startSupervisor(dir: string): Promise<TestSupervisor> {
  requireSupervisord();
  mkdirSync(path.join(dir, 'conf.d'), { recursive: true });
  const conf = path.join(dir, 'supervisord.conf');
  writeFileSync(conf, [
    '[unix_http_server]', `file=${dir}/supervisor.sock`, '',
    '[supervisord]', `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, '',
    '[rpcinterface:supervisor]', 'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface', '',
    '[supervisorctl]', `serverurl=unix://${dir}/supervisor.sock`, '',
    '[include]', `files = ${dir}/conf.d/*.conf`, '',
  ].join('\n'));
  await run('supervisord', ['-c', conf]);
  const ctl = async (...args: string[]) => {
    try {
      const { stdout } = await run('supervisorctl', ['-c', conf, ...args], { timeout: 120_000 });
      return { code: 0, stdout };
    } catch (error) {
      const e = error as { code?: number; stdout?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '' };
    }
  };
  const status = async () =>
    (await ctl('status')).stdout.split('\n').filter(Boolean).map((line) => {
      const [name = '', state = ''] = line.split(/\s+/);
      const pid = /pid (\d+)/.exec(line);
      return { name, state, pid: pid ? Number(pid[1]) : null };
    });
  await until(async () => (await ctl('pid')).code === 0, 10_000, POLL_MS);
  return {
    conf,
    ctl,
    status,
    async running(count, timeoutMs = 20_000) {
      let last: ProcessStatus[] = [];
      await until(async () => {
        last = await status();
        return last.filter((p) => p.state === 'RUNNING').length === count;
      }, timeoutMs, POLL_MS).catch(() => {
        throw new Error(`expected ${count} RUNNING, got:\n${last.map((p) => `${p.name} ${p.state}`).join('\n')}`);
      });
      return last;
    },
    async shutdown() {
      await ctl('shutdown');
      await until(async () => (await ctl('pid')).code !== 0, 60_000, POLL_MS).catch(() => undefined);
    },
  };
}
