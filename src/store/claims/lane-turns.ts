/**
 * Fair shares among the groups of a queue (lanes.ts), for every store: the free slots of a claim
 * go round-robin across the lanes that have due jobs, starting after the lane the last claim
 * served, so one group's backlog never delays another group's job by more than one free slot.
 * The lanes are the store's own queue names (`queueNames`), looked at no more than every
 * LANE_LOOK_MS: a job in a group no claim has seen yet waits that long at most. Jobs in no group
 * are a lane of their own, the queue itself. Where the turns stand is shared through a record
 * (`turn/<queue>`, written at most once a second while groups exist), where a new worker process
 * (one replacing another after max_job jobs) picks them up rather than starting over. A lane with limits (lane-limits.ts) is claimed from
 * only as far as they allow, and a weighted one has that many turns a round.
 */
import { coerceError } from '../../infra/errors.ts';
import type { ReleaseOptions, ReserveRequest, ReservedJob } from '../driver.ts';
import type { RecordStore } from '../record-store.ts';
import { LaneGate, readLaneSettings, type LaneSettings } from './lane-limits.ts';
import { LANE_SEPARATOR, queueOfLane } from './lanes.ts';

/** How long a look at the store's queue names serves. */
export const LANE_LOOK_MS = 250;

/** At most this many lanes are claimed from at once (each a round trip, sent together). */
const AT_ONCE = 16;

/** What a turn needs of a store. */
export interface TurnClaimer {
  claimFrom(queue: string, limit: number, request: ReserveRequest): Promise<ReservedJob[]>;
  release(job: ReservedJob, options: ReleaseOptions): Promise<boolean>;
  queueNames(): Promise<readonly string[]>;
  claimLanes?(lanes: readonly { queue: string; limit: number }[], request: ReserveRequest): Promise<ReservedJob[]>;
}

/** A worker's memory of the lanes it saw and whose turn is next; one per driver. */
export class QueueTurns {
  private seen: { at: number; names: readonly string[]; lanes: Map<string, string[]> | null; settings: Map<string, LaneSettings> } | null = null;
  private looking: Promise<void> | null = null;
  /** Per queue (null: all of them), the lane the last claim gave a turn to last. */
  private readonly last = new Map<string | null, string>();
  /** Whether the shared turns were read (once, when groups are first seen); when they were last written. */
  private sharedRead = false;
  private sharedAt = 0;
  /** Weighted queues' credits (weighted.ts). */
  readonly credits = new Map<string, number>();

  readonly gate: LaneGate;

  constructor(private readonly records: Pick<RecordStore, 'getRecord' | 'casRecord' | 'deleteRecord' | 'listRecords'>, private readonly now: () => number = Date.now, private readonly everyMs = LANE_LOOK_MS) {
    this.gate = new LaneGate(records, now);
  }

  /** The store's queues and lanes, as last looked at. */
  async names(claimer: Pick<TurnClaimer, 'queueNames'>): Promise<readonly string[]> {
    await this.look(claimer);
    return this.seen!.names;
  }

  /** Per queue that has groups, its lanes (its own first, when it holds jobs); null while no job is in a group. */
  async lanes(claimer: Pick<TurnClaimer, 'queueNames'>): Promise<ReadonlyMap<string, readonly string[]> | null> {
    await this.look(claimer);
    return this.seen!.lanes;
  }

  /** The limits of `lane`, as last looked at (none: undefined). */
  settingsOf(lane: string): LaneSettings | undefined {
    return this.seen?.settings.get(lane);
  }

  /** `lanes` (a weighted one as many times as its weight), starting after the one that had the last turn of `key`. */
  inTurn(key: string | null, given: readonly string[]): readonly string[] {
    const settings = this.seen?.settings;
    const lanes = settings && settings.size > 0 ? given.flatMap((lane) => Array<string>(Math.max(1, Math.min(100, Math.round(settings.get(lane)?.weight ?? 1)))).fill(lane)) : given;
    const last = this.last.get(key);
    // With nothing shared yet, a random lane: worker processes replaced every max_job jobs would
    // otherwise each begin with the first lanes, serving them more than the rest.
    const after = last === undefined ? Math.floor(Math.random() * lanes.length) : lanes.lastIndexOf(last) + 1 || firstAfter(lanes, last);
    return after === 0 || after >= lanes.length ? lanes : [...lanes.slice(after), ...lanes.slice(0, after)];
  }

  hadTurn(key: string | null, lane: string): void {
    this.last.set(key, lane);
  }

  /** Reads where the turns stand (first time only), and writes this process's place (once a second): best effort. */
  private async shareTurns(): Promise<void> {
    try {
      if (!this.sharedRead) {
        this.sharedRead = true;
        for (const { id, value } of await this.records.listRecords(TURN_NAMESPACE, 1_000)) {
          const key = id === EVERY_QUEUE ? null : id;
          if (!this.last.has(key)) this.last.set(key, value);
        }
        this.sharedAt = this.now();
        return;
      }
      if (this.now() - this.sharedAt < SHARE_EVERY_MS) return;
      this.sharedAt = this.now();
      await Promise.all([...this.last].map(async ([key, lane]) => {
        const id = key ?? EVERY_QUEUE;
        const current = await this.records.getRecord(TURN_NAMESPACE, id);
        if (current?.value !== lane) await this.records.casRecord(TURN_NAMESPACE, id, current?.version ?? null, lane, TURN_TTL_MS);
      }));
    } catch {
      // The turns go on from this process's own place; the next look tries again.
    }
  }

  private async look(claimer: Pick<TurnClaimer, 'queueNames'>): Promise<void> {
    if (this.seen && this.now() - this.seen.at < this.everyMs) return;
    this.looking ??= (async () => {
      try {
        const names = [...(await claimer.queueNames())].sort();
        const lanes = groupLanes(names);
        // Limits are looked for only while some job is in a group.
        this.seen = { at: this.now(), names, lanes, settings: lanes ? await readLaneSettings(this.records) : new Map() };
        if (lanes) await this.shareTurns();
      } finally {
        this.looking = null;
      }
    })();
    await this.looking;
  }
}

/** Record ids of the shared turns: a queue's name, or `*` for every queue's. */
const TURN_NAMESPACE = 'turn';
const EVERY_QUEUE = '*';
const SHARE_EVERY_MS = 1_000;
const TURN_TTL_MS = 3_600_000;

/** The lanes of each queue that has groups, sorted; null when none has. */
function groupLanes(names: readonly string[]): Map<string, string[]> | null {
  let lanes: Map<string, string[]> | null = null;
  for (const name of names) {
    if (!name.includes(LANE_SEPARATOR)) continue;
    const queue = queueOfLane(name);
    lanes ??= new Map();
    if (!lanes.has(queue)) lanes.set(queue, names.includes(queue) ? [queue] : []);
    lanes.get(queue)!.push(name);
  }
  return lanes;
}

/**
 * Claims up to `each` from every lane of `batch`: the lanes without limits in one step where the
 * store claims several lanes at once (`claimLanes`), the others one by one, all sent together.
 */
async function claimBatch(claimer: TurnClaimer, turns: QueueTurns, batch: readonly string[], each: number, request: ReserveRequest): Promise<PromiseSettledResult<ReservedJob[]>[]> {
  const together = claimer.claimLanes && batch.length > 1 ? new Set(batch.filter((lane) => !isLimited(turns.settingsOf(lane)))) : new Set<string>();
  if (together.size < 2) return Promise.allSettled(batch.map((lane) => claimLane(claimer, turns, lane, each, request)));
  // A lane twice in the batch (a weight) asks twice its share in the one step.
  const wants = new Map<string, number>();
  for (const lane of batch) if (together.has(lane)) wants.set(lane, (wants.get(lane) ?? 0) + each);
  const [joint, ...apart] = await Promise.allSettled([
    claimer.claimLanes!([...wants].map(([queue, limit]) => ({ queue, limit })), request),
    ...batch.map((lane) => (together.has(lane) ? Promise.resolve([]) : claimLane(claimer, turns, lane, each, request))),
  ]);
  if (joint!.status === 'rejected') return batch.map((lane, i) => (together.has(lane) ? joint! : apart[i]!));
  // Each lane's jobs, as if claimed on its own (a lane twice: its jobs split between its two places).
  const byLane = new Map<string, ReservedJob[]>();
  for (const job of joint!.value) byLane.set(job.queue, [...(byLane.get(job.queue) ?? []), job]);
  return batch.map((lane, i) => (together.has(lane) ? { status: 'fulfilled' as const, value: byLane.get(lane)?.splice(0, each) ?? [] } : apart[i]!));
}

function isLimited(settings: LaneSettings | undefined): boolean {
  return settings !== undefined && (settings.concurrency !== undefined || settings.rate !== undefined);
}

/** Claims up to `want` from `lane`, as far as its limits allow. */
async function claimLane(claimer: TurnClaimer, turns: QueueTurns, lane: string, want: number, request: ReserveRequest): Promise<ReservedJob[]> {
  const settings = turns.settingsOf(lane);
  if (!isLimited(settings)) return claimer.claimFrom(lane, want, request);
  const leaseMs = Math.max(request.leases.defaultMs, ...Object.values(request.leases.byName));
  const grant = await turns.gate.admit(lane, settings!, want, leaseMs);
  if (grant.count === 0) return [];
  let jobs: ReservedJob[] = [];
  try {
    jobs = await claimer.claimFrom(lane, grant.count, request);
  } finally {
    await turns.gate.claimed(grant, jobs);
  }
  return jobs;
}

/** Where the lane after `last` is in sorted `lanes` (last is gone: its successor in name order). */
function firstAfter(lanes: readonly string[], last: string): number {
  const i = lanes.findIndex((lane) => lane > last);
  return i < 0 ? 0 : i;
}

/**
 * Claims up to `want` due jobs from `lanes`, a turn each: a first pass gives each lane, in turn
 * from where the last claim stopped, an equal share of the free slots (one each when there are more
 * lanes than slots); slots left go again to the lanes that filled their share. `key`: the queue
 * (null: every queue) whose turns these are.
 */
export async function claimInTurns(claimer: TurnClaimer, turns: QueueTurns, key: string | null, lanes: readonly string[], want: number, request: ReserveRequest): Promise<ReservedJob[]> {
  const claimed: ReservedJob[] = [];
  let round = [...turns.inTurn(key, lanes)];
  let again: string[] = [];
  let firstPass = true;
  while (want > 0 && round.length > 0) {
    const batch = round.slice(0, Math.min(want, AT_ONCE));
    const share = Math.max(1, Math.floor(want / Math.min(round.length, want)));
    const got = await claimBatch(claimer, turns, batch, Math.min(share, want), request);
    let failure: unknown = null;
    got.forEach((result, i) => {
      if (result.status === 'rejected') {
        failure ??= result.reason;
        return;
      }
      claimed.push(...result.value);
      want -= result.value.length;
      if (result.value.length >= share) again.push(batch[i]!);
    });
    if (firstPass) turns.hadTurn(key, batch.at(-1)!);
    if (failure !== null) {
      if (claimed.length === 0) throw failure;
      // The jobs claimed from the other lanes are kept: given back by no one, they would wait out their lease.
      request.logger?.warn({ err: coerceError(failure) }, 'A claim from one group failed; the jobs claimed from the others run');
      break;
    }
    round = round.slice(batch.length);
    if (round.length === 0) {
      round = again;
      again = [];
      firstPass = false;
    }
  }
  return claimed;
}
