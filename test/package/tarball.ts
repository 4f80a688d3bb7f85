/**
 * The product as users get it: this repository packed by `npm pack` (once per test file), and
 * fresh apps in a temporary folder that install that tarball with `npm install <tarball>`, a
 * copy and no link, from npm's cache where it can.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/app.ts';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; `as` runs it as another user (runuser). */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; as?: string }): Promise<Run> {
  const [file, argv] = options.as ? ['runuser', ['-u', options.as, '--', command, ...args]] : [command, args];
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd: options.cwd, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm pack` of this repository into `dir`: the tarball's path. */
export async function pack(dir: string): Promise<string> {
  const result = await run('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: REPO });
  if (result.code !== 0) throw new Error(`npm pack failed:\n${result.stderr}`);
  const [{ filename }] = JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as [{ filename: string }];
  return path.join(dir, filename);
}

export type AppKind = 'ts' | 'esm' | 'cjs';

/** A folder every user can enter: apps are run as an unprivileged user too. */
export function scratchDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rakit-package-'));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A new app of `kind` in `dir` that installs `tarball`: TypeScript (ES modules, with typescript
 * and @types/node), ES-module JavaScript ("type": "module") or CommonJS JavaScript
 * ("type": "commonjs"). `seed` lends its node_modules: npm then keeps the packages that are
 * already there (better-sqlite3 is compiled once, not in every app, which took minutes) and
 * still installs the tarball and checks the whole tree. This repository's node_modules is
 * copied; an app's made here is hard-linked, and the copy's record of the tree (which npm
 * rewrites in place) removed first. `extra` are packages the app installs beside rakit (a store's
 * client); npm removes the seed's packages the app does not ask for.
 */
export async function installApp(dir: string, kind: AppKind, tarball: string, seed: string, extra: string[] = []): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const type = kind === 'cjs' ? 'commonjs' : 'module';
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `${kind}-app`, version: '1.0.0', private: true, type }, null, 2));
  if (kind === 'ts') {
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] },
      include: ['**/*.ts'],
      exclude: ['node_modules'],
    }, null, 2));
  }
  const copied = await run('cp', [seed === REPO ? '-a' : '-al', path.join(seed, 'node_modules'), path.join(dir, 'node_modules')], { cwd: dir });
  if (copied.code !== 0) throw new Error(`copying ${seed}/node_modules failed: ${copied.stderr}`);
  rmSync(path.join(dir, 'node_modules', '.package-lock.json'), { force: true });
  const packages = [tarball, ...(kind === 'ts' ? ['typescript@^5', '@types/node@^20'] : []), ...extra];
  const result = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages], { cwd: dir });
  if (result.code !== 0) throw new Error(`npm install ${packages.join(' ')} failed in the ${kind} app:\n${result.stderr}`);
}

/** Every file under `dir` (relative), for before/after comparisons. */
export const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();

/** Runs the app's installed binary, as npx does. */
export function rakit(app: string, args: string[], options: { env?: NodeJS.ProcessEnv; as?: string } = {}): Promise<Run> {
  return run(process.execPath, [path.join(app, 'node_modules', '.bin', 'rakit'), ...args], { cwd: app, ...options });
}

/** README blocks fenced as `lang` whose first line is `// <file>`. */
export function readmeSamples(readme: string): Map<string, string> {
  const samples = new Map<string, string>();
  for (const m of readme.matchAll(/^```(?:ts|js)\n(\/\/ (dispatch\.[cm]?[jt]s)\n[\s\S]*?)^```$/gm)) samples.set(m[2]!, m[1]!);
  return samples;
}
