/**
 * The CLI without a child process: the binary's own entry (src/cli.ts `main`, which bin/rakit.js
 * runs) called in this test's process, in an app's folder, with the environment given and what
 * it prints captured. For usage errors, config errors and output formats; what needs a real
 * process (signals, worker processes, the built dist/) stays with `app.rakit()`.
 */
import { format } from 'node:util';
import { main } from '../../src/cli.ts';
import type { RunResult } from './app.ts';

type Write = typeof process.stdout.write;

/** Runs `rakit <args>` in `dir`: its exit code and output, as the binary would give them. */
export async function rakitInProcess(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const consoles = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const savedEnv = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const cwd = process.cwd();
  const capture = (append: (text: string) => void): Write => ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as Write;
  process.stdout.write = capture((text) => (stdout += text));
  process.stderr.write = capture((text) => (stderr += text));
  console.log = console.info = (...parts: unknown[]) => void (stdout += `${format(...parts)}\n`);
  console.warn = console.error = (...parts: unknown[]) => void (stderr += `${format(...parts)}\n`);
  setEnv(env);
  process.chdir(dir);
  process.exitCode = undefined;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    process.chdir(cwd);
    setEnv(savedEnv);
    Object.assign(console, consoles);
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
}

function setEnv(env: NodeJS.ProcessEnv): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}
