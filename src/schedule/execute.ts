/**
 * Runs a task's action once: a job task dispatches its job through the normal dispatch (so its
 * queue and overlap key apply), a command task runs `rakit <command>` as a child process of the
 * app (its output captured, and written to the task's output file), a call task calls its
 * function in this process. Returns the outcome and what to keep of the output.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coerceError } from '../infra/errors.ts';
import type { RunOutcome } from './store.ts';
import type { ScheduledTask } from './task.ts';

export interface Execution {
  outcome: Exclude<RunOutcome, 'running'>;
  output: string;
}

/** How much of a run's output its record keeps (the end of it). */
export const OUTPUT_TAIL = 4000;

export async function execute(task: ScheduledTask, root: string): Promise<Execution> {
  const action = task.action;
  try {
    if (action.kind === 'job') {
      const { PendingDispatch } = await import('../api/pending-dispatch.ts');
      const pending = new PendingDispatch(typeof action.job === 'string' ? { name: action.job } : { jobClass: action.job }, action.payload);
      if (task.queue) pending.onQueue(task.queue);
      if (task.overlapSeconds !== null) pending.withoutOverlapping();
      const result = await pending;
      return result.skipped
        ? { outcome: 'skipped', output: `job ${result.name} is still pending or running (id ${result.existingId ?? '?'})` }
        : { outcome: 'dispatched', output: `job ${result.id} on queue ${result.queue}` };
    }
    if (action.kind === 'command') return await runCommand(action.command, task.output, root);
    await action.fn();
    return { outcome: 'success', output: '' };
  } catch (error) {
    const e = coerceError(error);
    return { outcome: 'failure', output: tail(`${e.name}: ${e.message}`) };
  }
}

/** `rakit <command>` in the app's folder, through the shell (the command may quote its arguments). */
async function runCommand(command: string, output: ScheduledTask['output'], root: string): Promise<Execution> {
  const line = `${quote(process.execPath)} ${quote(rakitBin())} ${command}`;
  const child = spawn(line, { cwd: root, shell: true, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => chunks.push(d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, signal) => resolve(signal ? null : c));
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (output) {
    const file = path.resolve(root, output.file);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await (output.append ? fs.appendFile(file, text) : fs.writeFile(file, text));
  }
  return { outcome: code === 0 ? 'success' : 'failure', output: tail(code === 0 ? text : `${text}${text.endsWith('\n') || !text ? '' : '\n'}exit ${code ?? 'by signal'}`) };
}

export function tail(text: string): string {
  return text.length <= OUTPUT_TAIL ? text : `…${text.slice(-OUTPUT_TAIL)}`;
}

/** This package's binary, found up from this module (src/schedule/ or dist/). */
function rakitBin(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const bin = path.join(dir, 'bin', 'rakit.js');
    if (existsSync(bin)) return bin;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('rakit\'s bin/rakit.js was not found beside its code');
    dir = up;
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
