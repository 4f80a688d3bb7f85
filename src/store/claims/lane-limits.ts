/**
 * Per-group limits, kept at claim time over the records every store has: a group's lane may have
 * a concurrency (at most N of its jobs running, across every worker and host), a rate (at most
 * `max` starts per `perMs`) and a weight (its share of turns). The class that dispatches into a
 * lane declares them (`static groupConcurrency`, `static groupRate`, `.group(id, { weight })`):
 * a `lane/<lane>` record, written once per process and lane (again only when it changes or is
 * old). Before a claim takes from a limited lane it takes what the limits allow: a running slot
 * per job (`lane-slot/<lane>#k`, compare-and-set, living as long as the job's lease, freed when
 * its outcome is recorded) and starts from the current window's count (`lane-rate/<lane>@w`). A
 * lane held back costs no claim, no attempt and no write. A lane without limits costs nothing.
 */
import { randomUUID } from 'node:crypto';
import type { RecordStore } from '../record-store.ts';
import type { ReservedJob } from '../driver.ts';
import { LANE_SEPARATOR } from './lanes.ts';

export const LANE_NAMESPACE = 'lane';
const SLOT_NAMESPACE = 'lane-slot';
const RATE_NAMESPACE = 'lane-rate';
/** How long a declaration lives without a dispatch renewing it. */
const LANE_TTL_MS = 24 * 3600_000;
/** A process declares a lane again after this, though nothing changed. */
const REDECLARE_MS = 3600_000;
/** The most lanes with limits a worker reads. */
export const LANES_READ = 10_000;

export interface LaneSettings {
  /** At most this many jobs of the lane run at once. */
  concurrency?: number;
  /** At most `max` jobs of the lane start per `perMs`. */
  rate?: { max: number; perMs: number };
  /** Turns per round (default 1). */
  weight?: number;
}

type Records = Pick<RecordStore, 'getRecord' | 'casRecord' | 'deleteRecord' | 'listRecords'>;

const declared = new Map<string, { text: string; at: number }>();

/** Declares the limits of `lane` (a dispatch into it), unless this process did so lately. */
export async function declareLane(records: Records, lane: string, settings: LaneSettings, now: number): Promise<void> {
  const text = JSON.stringify(settings);
  const last = declared.get(lane);
  if (last && last.text === text && now - last.at < REDECLARE_MS) return;
  for (let i = 0; i < 3; i++) {
    const current = await records.getRecord(LANE_NAMESPACE, lane);
    if (await records.casRecord(LANE_NAMESPACE, lane, current?.version ?? null, text, LANE_TTL_MS)) break;
  }
  declared.set(lane, { text, at: now });
}

/** Every lane's declared limits. */
export async function readLaneSettings(records: Pick<RecordStore, 'listRecords'>): Promise<Map<string, LaneSettings>> {
  const settings = new Map<string, LaneSettings>();
  for (const { id, value } of await records.listRecords(LANE_NAMESPACE, LANES_READ)) {
    try {
      settings.set(id, JSON.parse(value) as LaneSettings);
    } catch {
      // A record no dispatch of this version wrote: the lane runs without limits.
    }
  }
  return settings;
}

/** What a limited lane may start now: `count` jobs, under these slots and window. */
export interface Grant {
  count: number;
  slots: string[];
  /** What the slots hold: only the one who took a slot frees it (it may have expired and been taken since). */
  token: string;
  window: { id: string; ttlMs: number } | null;
}

/** The running slots held by claimed jobs, freed when their outcome is recorded (`laneEnded`). */
const held = new WeakMap<ReservedJob, { records: Records; slot: string; token: string }>();

export class LaneGate {
  constructor(private readonly records: Records, private readonly now: () => number) {}

  /** Takes what `settings` allow of `want` starts on `lane` (slots living `leaseMs`). */
  async admit(lane: string, settings: LaneSettings, want: number, leaseMs: number): Promise<Grant> {
    const token = randomUUID();
    const grant: Grant = { count: want, slots: [], token, window: null };
    if (settings.concurrency !== undefined) {
      for (let k = 0; k < settings.concurrency && grant.slots.length < want; k++) {
        const slot = `${lane}#${k}`;
        if (await this.records.casRecord(SLOT_NAMESPACE, slot, null, token, leaseMs)) grant.slots.push(slot);
      }
      grant.count = grant.slots.length;
    }
    if (settings.rate && grant.count > 0) {
      const { max, perMs } = settings.rate;
      const window = `${lane}@${Math.floor(this.now() / perMs)}`;
      let taken = 0;
      for (let i = 0; i < 5; i++) {
        const current = await this.records.getRecord(RATE_NAMESPACE, window);
        const used = current ? Number(current.value) : 0;
        taken = Math.max(0, Math.min(grant.count, max - used));
        if (taken === 0) break;
        if (await this.records.casRecord(RATE_NAMESPACE, window, current?.version ?? null, String(used + taken), perMs * 2)) break;
        taken = 0;
      }
      if (taken > 0) grant.window = { id: window, ttlMs: perMs * 2 };
      await freeSlots(this.records, grant.slots.splice(taken), token);
      grant.count = taken;
    }
    return grant;
  }

  /** The jobs claimed under `grant`: each keeps a slot; what was not used is given back. */
  async claimed(grant: Grant, jobs: readonly ReservedJob[]): Promise<void> {
    jobs.forEach((job, i) => {
      const slot = grant.slots[i];
      if (slot !== undefined) held.set(job, { records: this.records, slot, token: grant.token });
    });
    await freeSlots(this.records, grant.slots.slice(jobs.length), grant.token);
    const unused = grant.count - jobs.length;
    if (grant.window !== null && unused > 0) {
      const current = await this.records.getRecord(RATE_NAMESPACE, grant.window.id);
      // One try: a start given back late only lowers this window's rate.
      if (current) await this.records.casRecord(RATE_NAMESPACE, grant.window.id, current.version, String(Math.max(0, Number(current.value) - unused)), grant.window.ttlMs);
    }
  }
}

/** Frees the slots still holding `token`. */
async function freeSlots(records: Records, slots: readonly string[], token: string): Promise<void> {
  await Promise.all(slots.map(async (slot) => {
    const current = await records.getRecord(SLOT_NAMESPACE, slot);
    if (current?.value === token) await records.deleteRecord(SLOT_NAMESPACE, slot, current.version);
  }));
}

/** Job `job`'s outcome is recorded: its lane's running slot is freed, if it holds one (else null, at once: a job in no group is not even looked up). */
export function laneEnded(job: ReservedJob): Promise<void> | null {
  if (!job.queue.includes(LANE_SEPARATOR)) return null;
  const hold = held.get(job);
  if (!hold) return null;
  held.delete(job);
  return freeSlots(hold.records, [hold.slot], hold.token);
}
