/**
 * How the `redis` driver's idle workers learn of new jobs, and the queue list a claim without
 * --queue reads. A dispatch that makes a queue's first due job publishes a wake message; idle
 * workers wait on a subscription to it, so they wake within milliseconds without polling. The
 * subscription is re-made by ioredis after a reconnect, and a wait never outlasts `--sleep`.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../../infra/clock.ts';
import type { RedisClient } from './redis-connection.ts';
import { Wakeup } from '../wakeup.ts';

const QUEUE_LIST_MS = 250;

export class RedisWake {
  private subscriber: RedisClient | null = null;
  private subscribing: Promise<void> | null = null;
  private readonly wakeup = new Wakeup();
  private queueCache: { at: number; queues: string[] } | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly clock: Clock,
    /** Reads the queue list from the server. */
    private readonly readQueues: () => Promise<string[]>,
  ) {}

  /** The channel a queue's wake messages go to. */
  channel(queue: string): string {
    return `${this.prefix}:wake:${queue}`;
  }

  /**
   * The queue list (every queue that ever had a job pushed) for claims without --queue, read at
   * most once a second. A wake message from a queue not in it, a reconnect, or an idle wait that
   * ran its full length makes the next claim read it again, so a job on a new queue never waits.
   */
  async queueList(): Promise<string[]> {
    const now = this.clock.now();
    if (!this.queueCache || now - this.queueCache.at >= QUEUE_LIST_MS) this.queueCache = { at: now, queues: await this.readQueues() };
    return this.queueCache.queues;
  }

  /** Resolves on a wake message for one of `queues`, after `ms`, or on abort. */
  async waitForJob(queues: readonly string[] | null, ms: number, signal: AbortSignal): Promise<void> {
    if (!this.subscriber) {
      // A job published before the subscription existed would be missed: subscribe, then let the
      // worker look once more before it waits. Redis may be down right now: then wait out `ms`
      // and subscribe on a later call.
      this.subscribing ??= this.subscribe(queues).finally(() => {
        this.subscribing = null;
      });
      const subscribed = await this.subscribing.then(() => true, () => false);
      this.queueCache = null;
      if (subscribed) return;
      ms = Math.min(ms, 1000);
    }
    // After a whole wait (a delayed job on a new queue came due, perhaps), read the queue list again.
    if (await this.wakeup.wait(ms, signal)) this.queueCache = null;
  }

  /** A wake message: the claim after it reads the queue list again only for a queue it does not know. */
  private onWakeMessage(channel: string): void {
    const queue = channel.slice(this.channel('').length);
    if (this.queueCache && !this.queueCache.queues.includes(queue)) this.queueCache = null;
    this.wakeup.wake();
  }

  /**
   * One subscriber connection for the process, kept for its life once made (ioredis re-subscribes
   * after reconnects). A failed first subscribe leaves none, so a later wait tries again.
   */
  private async subscribe(queues: readonly string[] | null): Promise<void> {
    const sub = (this.redis as Redis).duplicate();
    sub.on('error', () => undefined);
    try {
      if (queues) await sub.subscribe(...queues.map((q) => this.channel(q)));
      else await sub.psubscribe(`${this.prefix}:wake:*`);
    } catch (error) {
      sub.disconnect();
      throw error;
    }
    // Messages sent while the subscriber was reconnecting are lost: a reconnect wakes the workers to look.
    sub.on('message', (channel: string) => this.onWakeMessage(channel))
      .on('pmessage', (_pattern: string, channel: string) => this.onWakeMessage(channel))
      .on('ready', () => {
        this.queueCache = null;
        this.wakeup.wake();
      });
    this.subscriber = sub;
  }

  /** Releases the waiters; the subscriber connection, if any, for the driver to close. */
  close(): RedisClient | null {
    this.wakeup.release();
    return this.subscriber;
  }
}
