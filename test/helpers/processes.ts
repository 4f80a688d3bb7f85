/**
 * Processes a test started indirectly: the worker processes of a manager, and whether one is gone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The pids of the processes whose parent is `pid` (none once it has exited). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when it finds none
  }
}

/** Whether process `pid` has exited (a zombie nobody reaped yet counts as exited). */
export function gone(pid: number): boolean {
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}
