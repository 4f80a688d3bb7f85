/**
 * Private servers for the chaos runs, which restart them mid-run: a MariaDB with its own data
 * folder and a Redis with an fsync-always AOF, each on a port of its own.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until } from '../helpers/clock.ts';

export interface PrivateServer {
  url: string;
  restart(): Promise<void>;
  stop(): void;
}

const waitFor = (check: () => boolean, what: string) => until(check, { timeoutMs: 20_000, everyMs: 100, what });

const ok = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export async function privateMariadb(port: number): Promise<PrivateServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-mariadb-'));
  try {
    execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root'], { stdio: 'ignore' });
  } catch (error) {
    throw new Error(`mariadb-install-db failed (${(error as Error).message}): the chaos run needs Debian's mariadb-server`);
  }
  let proc: ChildProcess | null = null;
  const ping = () => ok('mariadb-admin', ['-h127.0.0.1', `-P${port}`, '-uroot', 'ping']);
  const start = async () => {
    proc = spawn('mariadbd', ['--no-defaults', `--datadir=${dir}/data`, `--port=${port}`, `--socket=${dir}/sock`, '--user=root', '--bind-address=127.0.0.1', '--max-connections=500'], { stdio: 'ignore' });
    await waitFor(ping, 'the private MariaDB to answer');
  };
  await start();
  execFileSync('mariadb', ['-h127.0.0.1', `-P${port}`, '-uroot', '-e', 'CREATE DATABASE chaos']);
  return {
    url: `mysql://root@127.0.0.1:${port}/chaos`,
    async restart() {
      execFileSync('mariadb-admin', ['-h127.0.0.1', `-P${port}`, '-uroot', 'shutdown']);
      await waitFor(() => !ping(), 'the private MariaDB to shut down');
      await start();
    },
    stop() {
      ok('mariadb-admin', ['-h127.0.0.1', `-P${port}`, '-uroot', 'shutdown']);
      proc?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function privateRedis(port: number): Promise<PrivateServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-redis-chaos-'));
  const ping = () => ok('redis-cli', ['-p', String(port), 'ping']);
  const start = async () => {
    execFileSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'yes', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--logfile', path.join(dir, 'log')]);
    await waitFor(ping, 'the private Redis to answer');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    async restart() {
      ok('redis-cli', ['-p', String(port), 'shutdown']);
      await waitFor(() => !ping(), 'the private Redis to shut down');
      await start();
    },
    stop() {
      ok('redis-cli', ['-p', String(port), 'shutdown', 'nosave']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
