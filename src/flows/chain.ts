/**
 * What a chain job's final outcome does. Done: the next job of the chain is made due (the last
 * one drops the chain's held catch job). Failed, after its own retries: the rest of the chain is
 * dropped and the catch job made due. Each step is idempotent (a held job is made due or dropped
 * once), so settling the same job again changes nothing. The job made due is handed the
 * attempt's trace context first (traced.ts), when the app traces.
 */
import type { BrowsableQueue } from '../store/admin-store.ts';
import type { RecordStore } from '../store/record-store.ts';
import type { ChainFlow } from './envelope.ts';
import { drop, promote } from './held.ts';
import { handOnTrace } from './traced.ts';

type ChainStore = Pick<BrowsableQueue, 'runJobNow' | 'cancelJob'> & Pick<RecordStore, 'getRecord' | 'casRecord'>;

export async function settleChainJob(store: ChainStore, chain: ChainFlow, outcome: 'done' | 'failed'): Promise<void> {
  if (outcome === 'done') {
    if (!chain.next) return drop(store, chain.catch);
    await handOnTrace(store, chain.next);
    return promote(store, chain.next);
  }
  await drop(store, chain.next, ...chain.rest);
  await handOnTrace(store, chain.catch);
  await promote(store, chain.catch);
}
