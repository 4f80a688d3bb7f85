/**
 * Append-only logs on memcached, the only lists the `memcached` driver keeps (a queue's jobs,
 * the queue list, the failed store): `<log>:tail` counts slots (incr), `<log>:slot:<n>` holds
 * one entry, and `<log>:head` marks the slots up to it as finished; it only moves forward, by CAS.
 */
import type { Memcached } from './memcached-client.ts';

/** Slots read in one step of a look along a log. */
export const WINDOW = 2000;

export class MemcachedLog {
  constructor(private readonly mc: Memcached) {}

  /** Adds `value` in a new slot at the tail; its slot number. */
  async append(log: string, value: string): Promise<number> {
    const n = await this.mc.incr(this.mc.key(log, 'tail'));
    await this.mc.set(this.mc.key(log, 'slot', n), value);
    return n;
  }

  /** Slots head+1 .. min(tail, head+window) of a log, with their values (missing = evicted). */
  async slots(log: string, window = WINDOW): Promise<{ head: number; entries: [number, string | undefined][] }> {
    const { head, tail } = await this.ends(log);
    return { head, entries: await this.range(log, head, Math.min(tail, head + window)) };
  }

  /** A log's head (slots up to it are finished) and tail (its last slot). */
  async ends(log: string): Promise<{ head: number; tail: number }> {
    const [headText, tailText] = [await this.mc.get(this.mc.key(log, 'head')), await this.mc.get(this.mc.key(log, 'tail'))];
    return { head: Number(headText ?? 0), tail: Number(tailText ?? 0) };
  }

  /** Slots `from` + 1 to `to` of a log, with what each holds. */
  async range(log: string, from: number, to: number): Promise<[number, string | undefined][]> {
    const numbers = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + 1 + i);
    const values = await this.mc.getMany(numbers.map((n) => this.mc.key(log, 'slot', n)));
    return numbers.map((n) => [n, values.get(this.mc.key(log, 'slot', n))]);
  }

  /** Moves a log's head past the slots that are finished, by CAS (losing a race is fine). */
  async advance(log: string, head: number, finished: (n: number) => boolean, upTo: number): Promise<void> {
    let next = head;
    while (next < upTo && finished(next + 1)) next++;
    if (next === head) return;
    if (!(await this.mc.swap(this.mc.key(log, 'head'), (v) => (Number(v) === head ? String(next) : null)))) {
      await this.mc.add(this.mc.key(log, 'head'), String(next));
    }
  }
}
