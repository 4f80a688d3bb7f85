/**
 * How the process manager starts its worker processes (the binary, and the argument that makes
 * it one) and the messages between them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReservedJob } from './driver.ts';
import type { AttemptPlan, WorkerSummary } from './worker.ts';

/** Worker process → manager. Attempts are reported in batches: one message per event-loop turn. */
export type WorkerMessage =
  /** Attempts that ended (`ended`: job ids), then attempts about to start. */
  | { type: 'attempts'; ended: string[]; started: WireAttempt[] }
  | { type: 'beat'; rss: number }
  /** The job files have loaded. */
  | { type: 'ready' }
  | { type: 'stopped'; summary: WorkerSummary };

/** Manager → worker process. */
export type ManagerMessage =
  | { type: 'stop' }
  | { type: 'force' }
  /** Run the class's failed() hook for a job the manager failed (its process was killed). */
  | { type: 'failed-hook'; job: ReservedJob; exception: string };

/** An attempt about to start as one flat array: a batch of them serialises in half the time of objects. */
export type WireAttempt = [
  id: string, name: string, queue: string, payload: string, attempts: number, scheduledAt: number, createdAt: number,
  overlapKey: string | null, token: string, reservedUntil: number, timeoutMs: number, final: boolean, backoffMs: number,
];

export function toWire(job: ReservedJob, plan: AttemptPlan): WireAttempt {
  return [job.id, job.name, job.queue, job.payload, job.attempts, job.scheduledAt, job.createdAt, job.overlapKey, job.token,
    job.reservedUntil, plan.timeoutMs, plan.final, plan.backoffMs];
}

export function fromWire(w: WireAttempt): { job: ReservedJob; plan: AttemptPlan } {
  const [id, name, queue, payload, attempts, scheduledAt, createdAt, overlapKey, token, reservedUntil, timeoutMs, final, backoffMs] = w;
  return { job: { id, name, queue, payload, attempts, scheduledAt, createdAt, overlapKey, token, reservedUntil }, plan: { timeoutMs, final, backoffMs } };
}

/** The rakit binary, found above this module (src/core/ in a checkout and under vitest, dist/ otherwise). */
export const BIN = (() => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'rakit.js');
    if (existsSync(bin) || dir === path.dirname(dir)) return bin;
  }
})();

/** The argument that makes `bin/rakit.js` a worker process; its options travel in RAKIT_WORKER. */
export const WORKER_ARG = '__worker';
