/**
 * Several calls of one script in one pipeline: one write and one read on the socket instead of
 * one each, for the claims and acks of a queue's groups' lanes (store/claims/lanes.ts). Only on a
 * single Redis (or a Sentinel's master): on a Cluster each lane's keys are in a slot of its own.
 */
import type { Redis } from 'ioredis';

/** Each call's error or reply, in order. */
export async function scriptsInOnePipeline(redis: Redis, command: string, calls: readonly (readonly (string | number)[])[]): Promise<[Error | null, unknown][]> {
  const pipeline = redis.pipeline() as unknown as Record<string, (...args: (string | number)[]) => unknown> & { exec(): Promise<[Error | null, unknown][] | null> };
  for (const args of calls) void pipeline[command]!(...args);
  const replies = (await pipeline.exec()) ?? [];
  return calls.map((_, k) => replies[k] ?? [new Error(`${command}: no reply in the pipeline`), null]);
}
