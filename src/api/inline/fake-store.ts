/**
 * `Job.fake()`: while it is on, the runtime's driver (runtime.ts) is seen through this store,
 * the one seam every dispatch kind (single, bulk, chain, batch) reaches. A faked job is recorded
 * here, in this process, and stored nowhere: the jobs of the faked classes (all with `fake()`),
 * and every chain's and batch's jobs (a chain's catch job too: the one job stored held outside a
 * workflow), with their batch's record. Anything else goes to the real driver.
 * fake-dispatches.ts reads the record; fake-assertions.ts asserts on it.
 */
import { workflowOf } from '../../flows/envelope.ts';
import { isHeld } from '../../flows/held.ts';
import { BATCH_NAMESPACE } from '../../flows/batches/batch-store.ts';
import { WINDOW_NAMESPACES } from '../../flows/dedup.ts';
import type { JobClass } from '../job-types.ts';
import type { FullDriver, NewJob, PushResult, TransactionWriter } from '../../store/driver.ts';
import { UsageError } from '../../infra/errors.ts';
import type { StoredRecord } from '../../store/record-store.ts';
import { dispatchedAt, useScopes } from '../dispatch-scope.ts';
import { overriding } from './overriding.ts';

/** A job the fake kept instead of storing it: as dispatch handed it to the driver. */
export interface FakePush {
  id: string;
  job: NewJob;
  /** Its class, null for a name only listeners handle. */
  jobClass: JobClass | null;
  /** When it was dispatched (epoch ms, the runtime's clock). */
  at: number;
}

export interface FakeState {
  /** The names of the faked jobs; null: every job. */
  only: Set<string> | null;
  pushes: FakePush[];
  /** The records of faked batches, by batch id. */
  batches: Map<string, StoredRecord>;
  /** Deduplication windows' records, by `namespace/id`. */
  windows: Map<string, StoredRecord>;
}

let state: FakeState | null = null;
let next = 0;
const seen = new WeakMap<FullDriver, { state: FakeState; driver: FullDriver }>();

/** Turns the fake on (again, forgetting what it recorded): every job, or only these classes or names. */
export function startFake(jobs?: readonly (JobClass | string)[]): void {
  useScopes();
  if (jobs !== undefined && !Array.isArray(jobs)) throw new TypeError('Job.fake() takes an array of job classes or names');
  const only = jobs === undefined ? null : new Set(jobs.map((job) => (typeof job === 'string' ? job : job.nameOfJob)));
  state = { only, pushes: [], batches: new Map(), windows: new Map() };
}

export function stopFake(): void {
  state = null;
}

/** What the fake recorded; throws when it is off. */
export function fakeState(): FakeState {
  if (!state) throw new Error('Job.fake() is not on: call Job.fake() before the code under test dispatches, and Job.restore() after');
  return state;
}

export function faking(): boolean {
  return state !== null;
}

/** The driver a dispatch sees while faking: the same object for the same driver and fake. */
export function fakeDriver(real: FullDriver, now: () => number, classOf: (name: string) => JobClass | null): FullDriver {
  const current = fakeState();
  const known = seen.get(real);
  if (known?.state === current) return known.driver;
  const covers = (job: NewJob): boolean => current.only === null || current.only.has(job.name) || workflowOf(job.payload) !== null || isHeld(job.scheduledAt);
  const keep = (job: NewJob): PushResult => {
    const id = `fake-${++next}`;
    current.pushes.push({ id, job, jobClass: classOf(job.name), at: dispatchedAt() ?? now() });
    return { id };
  };
  const ours = (id: string): boolean => id.startsWith('fake-');
  const driver = overriding(real, {
    push: async (job) => (covers(job) ? keep(job) : real.push(job)),
    async pushMany(jobs) {
      const theirs = jobs.filter((job) => !covers(job));
      const stored = theirs.length > 0 ? await real.pushMany(theirs) : [];
      let k = 0;
      return jobs.map((job) => (covers(job) ? keep(job) : stored[k++]!));
    },
    // withTransaction() while faking: faked jobs are kept as any dispatch; others go to the real store's transaction.
    transactions: {
      async writerFor(trx) {
        const writer = real.transactions ? await real.transactions.writerFor(trx) : null;
        const theirs = (): TransactionWriter => {
          if (!writer) throw new UsageError(`withTransaction() while Job.fake() is on: this job is not faked and ${real.description} cannot write in the app's transaction; fake it too`);
          return writer;
        };
        return {
          push: async (job) => (covers(job) ? keep(job) : theirs().push(job)),
          async pushMany(jobs) {
            const rest = jobs.filter((job) => !covers(job));
            const stored = rest.length > 0 ? await theirs().pushMany(rest) : [];
            let k = 0;
            return jobs.map((job) => (covers(job) ? keep(job) : stored[k++]!));
          },
          casRecord: (namespace, id, version, value, ttlMs) => driver.casRecord(namespace, id, version, value, ttlMs),
        };
      },
    },
    runJobNow: async (id) => ours(id) || real.runJobNow(id),
    cancelJob: async (id) => ours(id) || real.cancelJob(id),
    async getRecord(namespace, id) {
      const [map, key] = keptIn(current, namespace, id);
      return map ? map.get(key) ?? null : real.getRecord(namespace, id);
    },
    async casRecord(namespace, id, version, value, ttlMs) {
      const [map, key] = keptIn(current, namespace, id);
      if (!map) return real.casRecord(namespace, id, version, value, ttlMs);
      if ((map.get(key)?.version ?? null) !== version) return false;
      map.set(key, { value, version: String(++next) });
      return true;
    },
    async deleteRecord(namespace, id, version) {
      const [map, key] = keptIn(current, namespace, id);
      if (!map) return real.deleteRecord(namespace, id, version);
      if (version !== undefined && map.get(key)?.version !== version) return false;
      return map.delete(key);
    },
  });
  seen.set(real, { state: current, driver });
  return driver;
}

/**
 * Where a fake keeps a record in memory rather than in the real store: batches (asserted on), and
 * deduplication windows (flows/dedup.ts), which must not outlive the test. Their time to live is
 * not kept: a fake lasts one test.
 */
function keptIn(state: FakeState, namespace: string, id: string): [Map<string, StoredRecord> | null, string] {
  if (namespace === BATCH_NAMESPACE) return [state.batches, id];
  return WINDOW_NAMESPACES.has(namespace) ? [state.windows, `${namespace}/${id}`] : [null, id];
}
