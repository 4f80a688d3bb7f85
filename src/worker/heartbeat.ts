/**
 * Worker processes in the store's WorkerRegistry (the dashboard's Workers page): a beat every
 * HEARTBEAT_MS for each, and a last word when it stops, with why.
 *
 * Who writes what: under the process manager (`job:runall`, `job:run`), the manager writes the
 * beats and the stop records of all its worker processes. It knows their pids, the attempts each
 * is running (reported over IPC before job code starts), their done/failed counts (in their IPC
 * beat, every second) and how each exited; and its event loop never runs job code, so a process
 * whose job blocks its own event loop still shows, running that job, until it is killed. Its stop
 * record says the process's own stop reason, or what the manager saw from outside (`timeout-kill`,
 * `crash`: see endOf). A worker process under the manager writes nothing to the registry. With
 * `--in-process` there is no manager: the worker writes its own beats and stop reason.
 * Writes are never awaited by the claim loop; one that fails is logged as a warning.
 */
import os from 'node:os';
import { HEARTBEAT_MS, type WorkerBeat, type WorkerEnd, type WorkerRegistry } from '../store/admin-store.ts';
import type { ExitKind } from '../manager/child-exit.ts';
import type { Clock } from '../infra/clock.ts';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';
import type { StopReason } from './worker-options.ts';

/** What a beat says about a worker process; `id`, `host`, `startedAt` and `beatAt` are added here. */
export type BeatSource = () => Pick<WorkerBeat, 'pid' | 'queues' | 'running' | 'done' | 'failed'>;

/** Why a process under the manager stopped: its own reason when it said one, else what its exit shows. */
export function endOf(kind: ExitKind, reason: StopReason | null): WorkerEnd {
  switch (kind) {
    case 'timed-out': return 'timeout-kill';
    case 'force-killed': return 'forced';
    case 'replace': return 'memory';
    case 'finished': return reason ?? 'signal';
    default: return 'crash';
  }
}

/** Beats for any number of worker processes of this host, and their stop records. */
export class Heartbeats {
  private readonly sources = new Map<string, { source: BeatSource; startedAt: number }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly writes = new Set<Promise<void>>();
  private readonly host = os.hostname();
  private failing = false;

  constructor(private readonly registry: WorkerRegistry, private readonly logger: Pick<Logger, 'warn'>, private readonly clock: Clock, private readonly everyMs = HEARTBEAT_MS) {}

  /** Starts beating for a process (its first beat now); returns its id, `host:pid:startedAt`. */
  add(source: BeatSource): string {
    const startedAt = this.clock.now();
    const id = `${this.host}:${source().pid}:${startedAt}`;
    this.sources.set(id, { source, startedAt });
    this.write(() => this.registry.beat(this.beatOf(id)));
    if (!this.timer) {
      this.timer = setInterval(() => this.beatAll(), this.everyMs);
      this.timer.unref();
    }
    return id;
  }

  /** Its last beat (final counts) and why it stopped; it beats no more. */
  stopped(id: string, end: WorkerEnd): void {
    const beat = this.sources.has(id) ? this.beatOf(id) : null;
    this.sources.delete(id);
    const at = this.clock.now();
    // After the beats already on their way: none may land after the stop record.
    const earlier = [...this.writes];
    this.write(async () => {
      await Promise.allSettled(earlier);
      if (beat) await this.registry.beat({ ...beat, running: [] });
      await this.registry.workerStopped(id, end, at);
    });
  }

  /** Stops the timer; resolves once every write begun has ended. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    while (this.writes.size > 0) await Promise.all(this.writes);
  }

  private beatAll(): void {
    for (const id of this.sources.keys()) this.write(() => this.registry.beat(this.beatOf(id)));
  }

  private beatOf(id: string): WorkerBeat {
    const { source, startedAt } = this.sources.get(id)!;
    return { ...source(), id, host: this.host, startedAt, beatAt: this.clock.now() };
  }

  private write(op: () => Promise<void>): void {
    const w: Promise<void> = Promise.resolve().then(op).then(
      () => void (this.failing = false),
      (error: unknown) => {
        if (!this.failing) this.logger.warn({ err: coerceError(error) }, 'Cannot record the worker heartbeat in the store; trying again at the next beat');
        this.failing = true;
      },
    ).finally(() => this.writes.delete(w));
    this.writes.add(w);
  }
}
