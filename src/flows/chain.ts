/**
 * What a chain job's final outcome does. Done: the next job of the chain is made due (the last
 * one drops the chain's held catch job). Failed, after its own retries: the rest of the chain is
 * dropped and the catch job made due. Each step is idempotent (a held job is made due or dropped
 * once), so settling the same job again changes nothing.
 */
import type { BrowsableQueue } from '../store/admin-store.ts';
import type { ChainFlow } from './envelope.ts';
import { drop, promote } from './held.ts';

export async function settleChainJob(store: Pick<BrowsableQueue, 'runJobNow' | 'cancelJob'>, chain: ChainFlow, outcome: 'done' | 'failed'): Promise<void> {
  if (outcome === 'done') {
    if (chain.next) await promote(store, chain.next);
    else await drop(store, chain.catch);
    return;
  }
  await drop(store, chain.next, ...chain.rest);
  await promote(store, chain.catch);
}
