/**
 * The assertions of `Job.fake()` (on the `Job` facade): each throws an AssertionError, which
 * vitest, jest and `node:test` report as a failed test, saying what was expected and listing
 * what was dispatched instead.
 */
import { AssertionError } from 'node:assert';
import type { JobClass, JobInstance } from '../job-types.ts';
import { batchesOf, chainsOf, dispatchedJobs, type Dispatched, type FakeBatch, type FakeChain } from './fake-dispatches.ts';
import { fakeState } from './fake-store.ts';

/** A job class, or a stored name. */
export type JobRef = JobClass | string;
/** The job object a predicate gets: the class's instance, or null for a name only listeners handle. */
export type JobOf<R> = R extends JobClass ? InstanceType<R> : JobInstance | null;
export type JobPredicate<R> = (job: JobOf<R>, dispatched: Dispatched) => boolean;

const nameOf = (ref: JobRef): string => (typeof ref === 'string' ? ref : ref.nameOfJob);
const title = (ref: JobRef): string => (typeof ref === 'string' ? `"${ref}"` : `${ref.name} (${ref.nameOfJob})`);

function line(d: Dispatched): string {
  return `${d.name} on ${d.queue}${d.delay > 0 ? `, delayed ${d.delay} s` : ''} ${JSON.stringify(d.payload)}`;
}

/** Everything the fake recorded, a line each: what a failed assertion shows. */
function recorded(): string {
  const state = fakeState();
  const single = dispatchedJobs(state).filter((d) => d.chain === null).map((d) => `  - ${line(d)}`);
  const chains = chainsOf(state).map((c) => `  - chain: ${c.jobs.map(line).join(' → ')}${c.catch ? ` (catch: ${line(c.catch)})` : ''}`);
  const batches = batchesOf(state).map((b) => `  - batch${b.name ? ` "${b.name}"` : ''}: [${b.jobs.map(line).join(', ')}]`);
  const all = [...single, ...chains, ...batches];
  return all.length === 0 ? 'Nothing was dispatched.' : `Dispatched:\n${all.join('\n')}`;
}

function fail(message: string): never {
  throw new AssertionError({ message: `${message}\n${recorded()}`, stackStartFn: fail });
}

/** The dispatched jobs of `ref` (single, bulk, a chain's first) that `predicate` accepts. */
export function dispatched<R extends JobRef>(ref: R, predicate?: JobPredicate<R>): Dispatched[] {
  const name = nameOf(ref);
  return dispatchedJobs(fakeState()).filter((d) => d.name === name && (!predicate || predicate(d.job as JobOf<R>, d)));
}

export function assertDispatched<R extends JobRef>(ref: R, predicate?: JobPredicate<R>): void {
  if (dispatched(ref, predicate).length === 0) fail(`Expected ${title(ref)} to be dispatched${predicate ? ' matching the predicate' : ''}, but it was not.`);
}

export function assertDispatchedTimes<R extends JobRef>(ref: R, times = 1, predicate?: JobPredicate<R>): void {
  const n = dispatched(ref, predicate).length;
  if (n !== times) fail(`Expected ${title(ref)} to be dispatched ${times} time(s)${predicate ? ' matching the predicate' : ''}, but it was dispatched ${n} time(s).`);
}

export function assertNotDispatched<R extends JobRef>(ref: R, predicate?: JobPredicate<R>): void {
  const n = dispatched(ref, predicate).length;
  if (n > 0) fail(`Expected ${title(ref)} not to be dispatched${predicate ? ' matching the predicate' : ''}, but it was dispatched ${n} time(s).`);
}

export function assertNothingDispatched(): void {
  const state = fakeState();
  if (state.pushes.length > 0 || state.batches.size > 0) fail('Expected nothing to be dispatched.');
}

export function assertPushedOn<R extends JobRef>(queue: string, ref: R, predicate?: JobPredicate<R>): void {
  if (!dispatched(ref, predicate).some((d) => d.queue === queue)) fail(`Expected ${title(ref)} to be pushed on queue "${queue}"${predicate ? ' matching the predicate' : ''}, but it was not.`);
}

/** A chain step: a class, a name, or a job object (its class and payload must match). */
export type ChainStep = JobRef | JobInstance<any>;

function sameStep(step: ChainStep, d: Dispatched): boolean {
  if (typeof step === 'string' || typeof step === 'function') return d.name === nameOf(step);
  const jobClass = step.constructor as JobClass;
  return d.name === jobClass.nameOfJob && JSON.stringify(d.payload) === JSON.stringify(step.payload);
}

/** Some chain was dispatched with exactly these jobs, in this order. */
export function assertChained(steps: readonly ChainStep[]): FakeChain {
  const found = chainsOf(fakeState()).find((c) => c.jobs.length === steps.length && steps.every((step, k) => sameStep(step, c.jobs[k]!)));
  if (!found) {
    const want = steps.map((s) => (typeof s === 'object' ? `${(s.constructor as JobClass).nameOfJob} ${JSON.stringify(s.payload)}` : nameOf(s))).join(' → ');
    fail(`Expected a chain of ${want}, but none was dispatched.`);
  }
  return found;
}

/** Some batch was dispatched that `predicate` accepts. */
export function assertBatched(predicate: (batch: FakeBatch) => boolean): FakeBatch {
  const found = batchesOf(fakeState()).find(predicate);
  if (!found) fail('Expected a batch matching the predicate, but none was dispatched.');
  return found;
}
