/**
 * Dispatches made while others are written go out together (src/drivers/combined-push.ts): a
 * lone one at once, the ones that waited in one write in the order made, and each gets its own
 * outcome, a failure of its own or of the write it was in.
 */
import { describe, expect, it } from 'vitest';
import { CombinedPush } from '../../src/drivers/combined-push.ts';
import type { PushResult } from '../../src/store/driver.ts';

/** A combiner whose writes are held until released; what each write carried. */
function held(limit: number, most = 100, manyFails: (jobs: string[]) => PromiseSettledResult<PushResult>[] | null = () => null) {
  const writes: string[][] = [];
  const open: (() => void)[] = [];
  const later = <T>(value: () => T) => new Promise<T>((resolve, reject) => open.push(() => {
    try {
      resolve(value());
    } catch (error) {
      reject(error);
    }
  }));
  const combined = new CombinedPush<string>(limit, most,
    (job) => { writes.push([job]); return later(() => { if (job === 'bad') throw new Error('refused'); return { id: job }; }); },
    (jobs) => { writes.push(jobs); return later(() => manyFails(jobs) ?? jobs.map((job) => ({ status: 'fulfilled' as const, value: { id: job } }))); });
  const release = async () => {
    for (const go of open.splice(0)) go();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { combined, writes, release };
}

describe('combined pushes', () => {
  it('writes a lone dispatch at once, and those made meanwhile in one write, in order', async () => {
    const { combined, writes, release } = held(1);
    const first = combined.push('a');
    expect(writes).toEqual([['a']]);
    const rest = ['b', 'c', 'd'].map((job) => combined.push(job));
    expect(writes).toHaveLength(1);
    await release();
    expect(writes).toEqual([['a'], ['b', 'c', 'd']]);
    await release();
    expect(await Promise.all([first, ...rest])).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
  });

  it('keeps `limit` writes in flight and at most `most` jobs in one', async () => {
    const { combined, writes, release } = held(2, 2);
    const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((job) => combined.push(job));
    expect(writes).toEqual([['a'], ['b']]);
    await release();
    expect(writes.slice(2)).toEqual([['c', 'd'], ['e', 'f']]);
    await release();
    expect((await Promise.all(all)).map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('gives each job its own outcome: one refused fails alone, a failed write fails the jobs it carried', async () => {
    const { combined, release } = held(1, 100, (jobs) => {
      if (jobs.includes('lost')) throw new Error('connection lost');
      return jobs.map((job) => (job === 'x' ? { status: 'rejected' as const, reason: new Error('refused x') } : { status: 'fulfilled' as const, value: { id: job } }));
    });
    const bad = combined.push('bad').catch((error: unknown) => error);
    const batch = Promise.allSettled(['w', 'x', 'y'].map((job) => combined.push(job)));
    await release();
    expect(await bad).toEqual(new Error('refused'));
    const next = Promise.allSettled(['lost', 'z'].map((job) => combined.push(job)));
    await release();
    await release();
    expect(await batch).toMatchObject([{ value: { id: 'w' } }, { reason: new Error('refused x') }, { value: { id: 'y' } }]);
    expect(await next).toMatchObject([{ reason: new Error('connection lost') }, { reason: new Error('connection lost') }]);
  });
});
