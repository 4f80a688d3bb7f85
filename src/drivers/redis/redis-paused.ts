/**
 * The `redis` driver's paused queues (PausableQueue): one set, P:paused, read by workers at most
 * once a second. The claim skips them (queue-policy.ts), so pausing costs the claim nothing.
 */
import type { PausableQueue } from '../../store/admin-store.ts';
import type { RedisClient } from './redis-connection.ts';

export class RedisPausedQueues implements PausableQueue {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly open: () => Promise<void>,
  ) {}

  async pauseQueue(queue: string): Promise<void> {
    await this.open();
    await this.redis.sadd(this.key, queue);
  }

  async resumeQueue(queue: string): Promise<boolean> {
    await this.open();
    return (await this.redis.srem(this.key, queue)) === 1;
  }

  async pausedQueues(): Promise<string[]> {
    await this.open();
    return (await this.redis.smembers(this.key)).sort();
  }
}
