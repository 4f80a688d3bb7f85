/**
 * The CLAIM script's call and answer, and the arguments ACK takes, shared by a claim from one
 * queue and the claims of several groups' lanes in one pipeline (redis.ts).
 */
import { randomUUID } from 'node:crypto';
import { claimToken, leaseFor, type Leases, type ReservedJob } from '../../store/driver.ts';
import type { RedisKeys } from './redis-failed.ts';
import * as scripts from './redis-scripts.ts';

/** The CLAIM script's keys and arguments, with the token and time it claims under. */
export function claimCall(keys: Pick<RedisKeys, 'k' | 'jobPrefix' | 'clock'>, queue: string, limit: number, leases: Leases, names: string, acks: readonly ReservedJob[], owner?: string) {
  const token = claimToken(owner, randomUUID());
  const now = keys.clock.now();
  const args = [
    keys.k(queue, 'pending'), keys.k(queue, 'reserved'), keys.k(queue, 'att'), keys.k(queue, 'tok'), keys.k(queue, 'overlap'),
    keys.jobPrefix(queue), now, Math.min(limit, SCRIPT_BATCH), token, leases.defaultMs, leaseText(leases), names, ...ackArgs(acks),
  ] as (string | number)[];
  return { token, now, args };
}

/** What a CLAIM script answered: which carried acks held, and the jobs claimed. */
export function parseClaim(r: unknown[], queue: string, token: string, now: number, leases: Leases): { held: boolean[]; jobs: ReservedJob[] } {
  const acked = Number(r[0]);
  const held = r.slice(1, 1 + acked).map((x) => Number(x) === 1);
  const jobs: ReservedJob[] = [];
  for (let i = 1 + acked; i < r.length; i += 4) {
    const [name, createdAt, overlapKey, payload] = scripts.parseRecord(String(r[i + 1]));
    jobs.push({
      id: `${queue}/${Number(r[i])}`, name, queue, payload, attempts: Number(r[i + 2]), scheduledAt: Number(r[i + 3]),
      createdAt, overlapKey, token: `${token}@${String(r[i + 3])}`, reservedUntil: now + leaseFor(leases, name),
    });
  }
  return { held, jobs };
}

/** Jobs per ACK or CLAIM call: Lua's unpack() has a stack limit. */
export const SCRIPT_BATCH = 500;

/** The leases as the claim script reads them (those that differ from the default), serialised once per Leases object. */
const leaseTexts = new WeakMap<Leases, string>();
function leaseText(leases: Leases): string {
  let text = leaseTexts.get(leases);
  if (text === undefined) {
    const own = Object.entries(leases.byName).filter(([, ms]) => ms !== leases.defaultMs);
    leaseTexts.set(leases, (text = JSON.stringify(Object.fromEntries(own))));
  }
  return text;
}

/** ACK's arguments for each job: member, token, overlap key ('' for none). */
export function ackArgs(jobs: readonly ReservedJob[]): string[] {
  return jobs.flatMap((job) => [scripts.MEMBER(memberOf(job.id)), job.token, job.overlapKey ?? '']);
}

export function memberOf(id: string): string {
  return id.slice(id.lastIndexOf('/') + 1);
}
