/**
 * The supervisor config of an app: one [program:…] per queue, each running
 * `rakit job:runall --queue=<queue>` in `numprocs` copies. TERM makes a worker finish its running
 * jobs; stopwaitsecs outlasts the longest job timeout (and the manager's kill after it), so
 * supervisor never kills a job that is still within its time; stopasgroup/killasgroup reach the
 * manager's worker processes too.
 */
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { KILL_GRACE_MS } from '../worker/job-policy.ts';

export interface SupervisorPlan {
  /** Program names start with this, e.g. rakit → rakit-high. */
  name: string;
  /** Absolute path of the node binary. */
  node: string;
  /** Absolute path of the rakit binary. */
  bin: string;
  /** The app folder: the workers' working directory. */
  directory: string;
  user: string;
  logDir: string;
  /** Worker programs in the order written: queue and numprocs. */
  workers: { queue: string; processes: number }[];
  /** Flags given to every `job:runall`, e.g. ['--retries=3']. */
  flags: string[];
  /** The longest timeout a job of this app can have, in seconds. */
  longestTimeout: number;
}

/** Seconds supervisor waits after TERM beyond the longest timeout before it kills the group. */
export const STOP_MARGIN_S = 15;

export function stopWaitSecs(longestTimeout: number): number {
  return Math.ceil(longestTimeout + KILL_GRACE_MS / 1000 + STOP_MARGIN_S);
}

/** A supervisor program name for a queue: supervisor reads `:` as a group separator. */
export function programName(prefix: string, queue: string): string {
  return `${prefix}-${queue.replace(/[^A-Za-z0-9_.-]/g, '-')}`;
}

export function renderSupervisorConfig(plan: SupervisorPlan): string {
  const wait = stopWaitSecs(plan.longestTimeout);
  const header = [
    `; rakit job workers for ${plan.directory}, written by \`rakit job:supervisor\`.`,
    '; Install: put this file in /etc/supervisor/conf.d/, then run',
    ';   supervisorctl reread && supervisorctl update',
    '; Deploy new code: `rakit job:restart` (each worker exits after its running jobs and',
    '; supervisor starts it again).',
    '; stopsignal=TERM: a worker takes no new job and finishes the running ones.',
    `; stopwaitsecs=${wait}: the longest job timeout (${plan.longestTimeout} s) and then some, as a worker`,
    '; itself stops a job that runs past its timeout; supervisor never kills a job in time.',
    "; stopasgroup/killasgroup: signals reach the worker's job processes too.",
  ];
  const programs = plan.workers.map(({ queue, processes }) => {
    const name = programName(plan.name, queue);
    const command = [plan.node, plan.bin, 'job:runall', `--queue=${queue}`, ...plan.flags].map(quoteArg).join(' ');
    return [
      `[program:${name}]`,
      'process_name=%(program_name)s_%(process_num)02d',
      `command=${command}`,
      `directory=${plan.directory}`,
      `user=${plan.user}`,
      `numprocs=${processes}`,
      'autostart=true',
      'autorestart=true',
      'stopsignal=TERM',
      `stopwaitsecs=${wait}`,
      'stopasgroup=true',
      'killasgroup=true',
      'redirect_stderr=true',
      `stdout_logfile=${plan.logDir.replace(/\/+$/, '')}/${name}.log`,
    ].join('\n');
  });
  return `${header.join('\n')}\n\n${programs.join('\n\n')}\n`;
}

/** Supervisor splits `command` like a shell: quote what has spaces or quotes; `%` is its own escape. */
function quoteArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%');
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `'${escaped.replace(/'/g, `'"'"'`)}'`;
}

/** The owner of a folder by name (from /etc/passwd), else by uid, else the current user. */
export function ownerOf(directory: string): string {
  try {
    const uid = statSync(directory).uid;
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
    return line?.split(':')[0] ?? String(uid);
  } catch {
    return os.userInfo().username;
  }
}
