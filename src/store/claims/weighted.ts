/**
 * Weighted queues (`--queue=high:6,default:3,low:1`, Sidekiq's weighted mode): a claim's free
 * slots are dealt to the queues in proportion to their weights, slot by slot in a smooth
 * round-robin whose credits carry over from claim to claim, so at one slot a claim the queues
 * still take their turns 6:3:1. Every queue is claimed from at once with its share; slots a
 * queue could not fill go to the queues that filled theirs, heaviest first.
 */
import type { ReservedJob } from '../driver.ts';

/** The credits of the smooth round-robin, per list of queues. */
export interface WeightCredits {
  credits: Map<string, number>;
}

/** Claims up to `want` from `queues` in proportion to `weights`. */
export async function claimWeighted(
  queues: readonly string[], weights: readonly number[], want: number, turns: WeightCredits,
  fromQueue: (queue: string, want: number) => Promise<ReservedJob[]>,
): Promise<ReservedJob[]> {
  if (queues.length === 0 || want <= 0) return [];
  const shares = deal(queues, weights, want, turns.credits);
  const got = await Promise.all(queues.map((queue, i) => (shares[i]! > 0 ? fromQueue(queue, shares[i]!) : Promise.resolve([]))));
  const claimed = got.flat();
  // Slots left: to the queues that filled their share (they may have more), heaviest first.
  const more = queues.map((queue, i) => ({ queue, weight: weights[i]!, full: got[i]!.length >= shares[i]! })).filter((q) => q.full).sort((a, b) => b.weight - a.weight);
  for (const { queue } of more) {
    const left = want - claimed.length;
    if (left <= 0) break;
    claimed.push(...(await fromQueue(queue, left)));
  }
  return claimed;
}

/** `want` slots dealt one by one: each to the queue with the most credit, which pays the total weight for it. */
function deal(queues: readonly string[], weights: readonly number[], want: number, credits: Map<string, number>): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const shares = queues.map(() => 0);
  const credit = queues.map((queue) => credits.get(queue) ?? 0);
  for (let slot = 0; slot < want; slot++) {
    let best = 0;
    for (let i = 0; i < queues.length; i++) {
      credit[i]! += weights[i]!;
      if (credit[i]! > credit[best]!) best = i;
    }
    credit[best]! -= total;
    shares[best]!++;
  }
  queues.forEach((queue, i) => credits.set(queue, credit[i]!));
  return shares;
}
