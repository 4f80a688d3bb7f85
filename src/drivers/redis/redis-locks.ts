/**
 * The `redis` driver's Locks page (LockBrowser): the overlap keys held in each queue's
 * P:{Q}:overlap hash (key → member), each with the job holding it, read by its header line.
 * A key whose holder is gone (no record) is not held: a push takes it again.
 */
import type { LockBrowser, OverlapLock } from '../../store/admin-store.ts';
import { judge, type RedisAdminJobs } from './redis-admin-jobs.ts';
import type { RedisKeys } from './redis-failed.ts';

interface Scripted {
  rakitReleaseLock(...keysAndArgs: string[]): Promise<number>;
}

export class RedisLocks implements LockBrowser {
  private readonly lua: Scripted;

  constructor(
    private readonly store: RedisKeys,
    private readonly jobs: RedisAdminJobs,
  ) {
    store.redis.defineCommand('rakitReleaseLock', { lua: RELEASE_LOCK, numberOfKeys: 1 });
    this.lua = store.redis as unknown as Scripted;
  }

  async listOverlapLocks(): Promise<OverlapLock[]> {
    const now = this.store.clock.now();
    const locks: OverlapLock[] = [];
    await Promise.all((await this.store.queues()).map(async (queue) => {
      const held = Object.entries(await this.store.redis.hgetall(this.store.k(queue, 'overlap')));
      if (held.length === 0) return;
      const peeked = await this.jobs.peek(queue, held.map(([, m]) => m), false);
      held.forEach(([key, m], i) => {
        const job = judge(queue, m, peeked[i]!, now);
        if (job) locks.push({ key, jobId: job.id, name: job.name, queue, state: job.state, since: job.createdAt });
      });
    }));
    return locks.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.queue < b.queue ? -1 : 1));
  }

  /** Frees the key in every queue where a job holds it. */
  async releaseOverlapLock(key: string): Promise<boolean> {
    const queues = await this.store.queues();
    const freed = await Promise.all(queues.map((queue) => this.lua.rakitReleaseLock(this.store.k(queue, 'overlap'), this.store.jobPrefix(queue), key)));
    return freed.some((n) => n === 1);
  }
}

/** KEYS: overlap. ARGV: job key prefix, overlap key. Frees the key; → 1 when a job held it, else 0. */
const RELEASE_LOCK = `
local holder = redis.call('HGET', KEYS[1], ARGV[2])
if not holder then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
return redis.call('EXISTS', ARGV[1] .. holder)
`;
