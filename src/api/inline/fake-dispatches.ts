/**
 * What the fake recorded (fake-store.ts), read back as an app's test asks about it: the jobs
 * dispatched (single and bulk dispatches, and the first job of each chain, as Laravel counts
 * them), the chains in order with their catch job, and the batches with their jobs, callbacks
 * and options. Each job comes with its payload, queue, time and a job object made from them.
 */
import type { JobClass, JobInstance } from '../job-types.ts';
import { decodePayload, type Payload } from '../payload.ts';
import type { BatchRecord } from '../../flows/batches/batch-record.ts';
import { workflowOf, type BatchCallback, type Flow } from '../../flows/envelope.ts';
import { isHeld } from '../../flows/held.ts';
import type { FakePush, FakeState } from './fake-store.ts';

/** A job the fake recorded. */
export interface Dispatched<J extends JobInstance<any> = JobInstance> {
  id: string;
  /** The stored name (a class's kebab name or `jobName`, or a listened name). */
  name: string;
  /** Its class; null for a name only listeners handle. */
  jobClass: JobClass | null;
  /** The job object the worker would make, with this payload (null without a class). */
  job: J | null;
  payload: Payload;
  queue: string;
  /** When it would be due; for a chain's later jobs and a batch's callbacks, when their workflow makes them due. */
  scheduledAt: Date | null;
  /** Seconds from its dispatch to when it is due (0 when due at once). */
  delay: number;
  /** The chain it is in. */
  chain: string | null;
  /** The batch it is in (as a job or a callback). */
  batch: string | null;
}

export interface FakeChain {
  id: string;
  /** In the order they run. */
  jobs: Dispatched[];
  /** Run if a job of the chain finally fails. */
  catch: Dispatched | null;
}

export interface FakeBatch {
  id: string;
  name: string | null;
  /** The queue of its jobs that set none. */
  queue: string;
  allowFailures: boolean;
  /** In the order given. */
  jobs: Dispatched[];
  then: Dispatched | null;
  catch: Dispatched | null;
  finally: Dispatched | null;
}

function viewOf(push: FakePush, flow: Flow | null): Dispatched {
  const payload = decodePayload(push.job.payload);
  const held = isHeld(push.job.scheduledAt);
  return {
    id: push.id,
    name: push.job.name,
    jobClass: push.jobClass,
    job: push.jobClass ? new push.jobClass(payload) : null,
    payload,
    queue: push.job.queue,
    scheduledAt: held ? null : new Date(push.job.scheduledAt),
    delay: held ? 0 : Math.max(0, push.job.scheduledAt - push.at) / 1000,
    chain: flow?.chain?.id ?? null,
    batch: flow?.batch ?? null,
  };
}

function read(state: FakeState): { push: FakePush; flow: Flow | null; view: Dispatched }[] {
  return state.pushes.map((push) => {
    const flow = workflowOf(push.job.payload);
    return { push, flow, view: viewOf(push, flow) };
  });
}

/** Single and bulk dispatches and the first job of each chain, in the order dispatched. */
export function dispatchedJobs(state: FakeState): Dispatched[] {
  const all = read(state);
  const chainHeads = new Set(chainsOf(state).map((chain) => chain.jobs[0]!.id));
  // A held job in no workflow is a chain's catch job: it belongs to its chain.
  return all.filter(({ flow, push, view }) => (flow === null && !isHeld(push.job.scheduledAt)) || chainHeads.has(view.id)).map(({ view }) => view);
}

export function chainsOf(state: FakeState): FakeChain[] {
  const all = read(state);
  const byId = new Map(all.map((entry) => [entry.view.id, entry]));
  // A chain is stored back to front; its first job is the only one due, the last stored.
  return all.filter(({ flow, push }) => flow?.chain && !isHeld(push.job.scheduledAt)).map(({ flow, view }) => {
    const chain = flow!.chain!;
    const jobs = [view, ...[chain.next, ...chain.rest].filter((id): id is string => id !== null).map((id) => byId.get(id)!.view)];
    return { id: chain.id, jobs, catch: chain.catch ? byId.get(chain.catch)?.view ?? null : null };
  });
}

export function batchesOf(state: FakeState): FakeBatch[] {
  const all = read(state);
  const ids = [...new Set(all.flatMap(({ flow }) => (flow?.batch ? [flow.batch] : [])))];
  const stored = [...state.batches.entries()].map(([id, r]) => ({ id, record: JSON.parse(r.value) as BatchRecord }));
  // An empty batch has no job to name it: its record does.
  for (const { id } of stored) if (!ids.includes(id)) ids.push(id);
  return ids.map((id) => {
    const record = stored.find((r) => r.id === id)?.record;
    const mine = all.filter(({ flow }) => flow?.batch === id);
    const callback = (kind: BatchCallback) => mine.find(({ flow }) => flow?.callback === kind)?.view ?? null;
    const jobs = mine.filter(({ flow }) => flow?.callback === undefined).sort((a, b) => a.flow!.i! - b.flow!.i!).map(({ view }) => view);
    return {
      id, name: record?.name ?? null, queue: record?.queue ?? 'default', allowFailures: record?.allowFailures ?? false,
      jobs, then: callback('then'), catch: callback('catch'), finally: callback('finally'),
    };
  });
}
