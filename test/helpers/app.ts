/**
 * A throwaway app that uses rakit the way an installed one does: its own folder with
 * application/config/job.ts, application/jobs, storage/, and node_modules/rakit linked to this
 * package. `rakit(...)` runs the real binary there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(REPO, 'bin', 'rakit.js');
const TSX = path.join(REPO, 'node_modules', '.bin', 'tsx');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestApp {
  dir: string;
  env: NodeJS.ProcessEnv;
  rakit(args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult>;
  spawnRakit(args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a TypeScript file of the app with tsx. */
  script(file: string, source: string): Promise<RunResult>;
  write(file: string, content: string): void;
  ranLog(): string[];
  remove(): void;
}

export function makeApp(config: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): TestApp {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-app-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(REPO, path.join(dir, 'node_modules', 'rakit'), 'dir');
  // As npm installs it: `npx rakit` and node_modules/.bin/rakit find the binary.
  mkdirSync(path.join(dir, 'node_modules', '.bin'));
  symlinkSync('../rakit/bin/rakit.js', path.join(dir, 'node_modules', '.bin', 'rakit'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'test-app', private: true, type: 'module' }));
  mkdirSync(path.join(dir, 'application', 'config'), { recursive: true });
  mkdirSync(path.join(dir, 'storage'));
  cpSync(path.join(REPO, 'test', 'fixtures', 'jobs'), path.join(dir, 'application', 'jobs'), { recursive: true });
  cpSync(path.join(REPO, 'test', 'fixtures', 'events.ts'), path.join(dir, 'application', 'events.ts'));
  writeConfig(dir, { logging: true, sleep_ms: 50, ...config });
  const baseEnv = { ...process.env, RAKIT_LOG_LEVEL: undefined, JOB_DRIVER: undefined, DATABASE_URL: undefined, REDIS_URL: undefined, MEMCACHED_SERVERS: undefined, ...env };
  const run = (command: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    new Promise<RunResult>((resolve) => {
      const child = spawn(command, args, { cwd: dir, env: { ...baseEnv, ...extra } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  return {
    dir,
    env: baseEnv,
    rakit: (args, extra) => run(process.execPath, [BIN, ...args], extra),
    spawnRakit: (args, extra = {}) => spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...baseEnv, ...extra } }),
    script(file, source) {
      writeFileSync(path.join(dir, file), source);
      return run(TSX, [file]);
    },
    write(file, content) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content);
    },
    ranLog() {
      const file = path.join(dir, 'storage', 'ran.log');
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function writeConfig(dir: string, config: Record<string, unknown>): void {
  writeFileSync(path.join(dir, 'application', 'config', 'job.ts'), `export default ${JSON.stringify(config, null, 2)};\n`);
}

/** The JSON log lines a command printed. */
export function logLines(stdout: string): { msg: string; [k: string]: unknown }[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}
