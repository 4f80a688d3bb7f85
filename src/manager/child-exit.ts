/**
 * Why a worker process exited, as the manager sees it (the exit classification), and what the
 * manager does about each kind of exit (the action table): how the jobs it left running are
 * settled, whether a new process takes its place, and whether the run ends.
 */
import type { Driver, ReservedJob } from '../store/driver.ts';
import type { Logger } from '../infra/logger.ts';
import { TimeoutError } from '../infra/errors.ts';
import type { AttemptPlan } from '../worker/job-policy.ts';
import { WorkerDiedError } from '../infra/errors.ts';
import { settle, type SettleDeps, type Settled, type Settlement } from '../worker/settle.ts';
import { EXIT, type StopReason } from '../worker/worker-options.ts';

/** What the manager knows about a process when it exits. */
export interface ExitFacts {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The manager killed it: an attempt ran past its timeout + KILL_GRACE_MS. */
  killedForTimeout: boolean;
  /** The manager killed it: a forced stop whose jobs did not end. */
  forceKilled: boolean;
  /** Why it stopped, if it said so before exiting. */
  stoppedReason: StopReason | null;
  /** It had loaded the job files. */
  loaded: boolean;
  /** It said it ends on bad usage or configuration. */
  fatal: boolean;
  /** The manager runs with --watch and is not stopping. */
  watching: boolean;
  /** Jobs were running in it. */
  hadJobs: boolean;
}

export type ExitKind =
  /** Killed for an attempt past its timeout. */
  | 'timed-out'
  /** Killed by a forced stop. */
  | 'force-killed'
  /** Bad configuration or a job module that does not load: starting again would only repeat it. */
  | 'bad-code'
  /** --watch: an edited job file does not load; the running processes keep the code they have. */
  | 'broken-edit'
  /** Stopped to be replaced (over --memory). */
  | 'replace'
  /** Stopped as asked, or by a stop rule. */
  | 'finished'
  /** Exited without saying it stopped (a crash, a stray process.exit(), a kill from outside) under its jobs. */
  | 'died-running'
  /** The same with no job running: perhaps a broken environment. */
  | 'died-idle';

export function classifyExit(f: ExitFacts): ExitKind {
  if (f.killedForTimeout) return 'timed-out';
  if (f.forceKilled) return 'force-killed';
  // Exit 2 is bad code or configuration only before the job files loaded, or when the process
  // said so: after that it may be job code calling process.exit(2), a death under its jobs.
  if (f.code === EXIT.usage && (!f.loaded || f.fatal)) return f.watching && !f.loaded ? 'broken-edit' : 'bad-code';
  if (f.stoppedReason !== null) return f.stoppedReason === 'memory' ? 'replace' : 'finished';
  return f.hadJobs ? 'died-running' : 'died-idle';
}

export interface ExitAction {
  /**
   * How the attempts it left running are settled: `killed` (the one that timed out fails with a
   * TimeoutError, the others go back uncounted), `died` (each fails with the death: its own
   * code may be the cause, so `tries` bounds a job that kills every process), `release` (back
   * uncounted).
   */
  settle: 'killed' | 'died' | 'release';
  /** Whether a new process takes its place (unless the run is stopping): `backoff` waits longer after each recent crash. */
  respawn: 'now' | 'backoff' | 'never';
  /** Ends the run with this exit code. */
  endRun?: number;
}

export const EXIT_ACTIONS: Record<ExitKind, ExitAction> = {
  'timed-out': { settle: 'killed', respawn: 'now' },
  'force-killed': { settle: 'release', respawn: 'never' },
  'bad-code': { settle: 'release', respawn: 'never', endRun: EXIT.usage },
  'broken-edit': { settle: 'release', respawn: 'never' },
  replace: { settle: 'release', respawn: 'now' },
  finished: { settle: 'release', respawn: 'never' },
  'died-running': { settle: 'died', respawn: 'now' },
  'died-idle': { settle: 'died', respawn: 'backoff' },
};

/** An attempt an exited process left running; `killed`: the one its process was killed for. */
export interface LeftRunning {
  job: ReservedJob;
  plan: AttemptPlan;
  startedAt: number;
  killed: boolean;
  /** It was cancelled: whatever ended its process, it is recorded cancelled. */
  cancelled?: boolean;
  /** Its process told that its code succeeded. */
  succeeded?: boolean;
}

/**
 * Gives back the jobs a process that died had claimed and not started (only the store knows of
 * them: they were claimed for its owner id); resolves with how many.
 */
export async function giveBackUnstarted(deps: { driver: Pick<Driver, 'releaseOwned'>; logger: Logger }, child: { owner: string; pid: number | undefined }): Promise<number> {
  const released = await deps.driver.releaseOwned(child.owner);
  if (released > 0) deps.logger.warn({ childPid: child.pid, released }, `Gave back ${released} job${released === 1 ? '' : 's'} worker process ${child.pid} had claimed and not started`);
  return released;
}

/** Settles the attempts an exited process left running, as `how` says (see ExitAction). */
export async function settleLeftRunning(deps: SettleDeps, left: LeftRunning[], how: ExitAction['settle'], code: number | null, signal: string | null): Promise<Settled[]> {
  const results: Settled[] = [];
  for (const { job, plan, startedAt, killed, cancelled, succeeded } of left) {
    let settlement: Settlement = { kind: 'release', why: 'its worker process was stopped' };
    if (cancelled) settlement = { kind: 'cancel', how: killed ? 'its code ignored its signal: its worker process was killed' : 'its worker process ended' };
    else if (how === 'died') settlement = { kind: 'failure', error: WorkerDiedError.of(job, code, signal), final: false };
    else if (how === 'killed' && killed) {
      const error = new TimeoutError(`Job "${job.name}" (id ${job.id}) ran past its timeout of ${plan.timeoutMs / 1000} s and was stopped by killing its worker process`);
      settlement = { kind: 'failure', error, final: false };
    }
    const settled = await settle(deps, job, settlement, plan, deps.clock.now() - startedAt);
    results.push(settled.kind === 'lost' && (succeeded || await acked(deps.driver, job.id)) ? { kind: 'done' } : settled);
  }
  return results;
}

/**
 * Lost (the process recorded it before it died) and held nowhere, pending or failed: its process
 * acked it, a success whose ack rode on its next claim before the process could tell of it.
 */
async function acked(driver: SettleDeps['driver'], id: string): Promise<boolean> {
  try {
    return (await driver.getJob(id)) === null && (await driver.getFailed(id)) === null;
  } catch {
    return false; // the store is out of reach: it stays lost
  }
}
