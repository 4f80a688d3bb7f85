/**
 * The schedule store on memcached (memcache-client), from atomic steps only: `add` (create if
 * absent) takes a claim or a free lock, `gets` + `cas` takes a lapsed lock, renews or releases
 * one (so an old owner's late write fails) and updates the lock index and the run history.
 * Keys are the prefix and a hash of the task or lock name (names may hold spaces):
 *
 *   P:schedule:claim:<hash>:<tick>   the claim (added; kept as long as a claim must be)
 *   P:schedule:lock:<hash>           `{ name, owner, acquiredAt, expiresAt }`; owner '' = released
 *   P:schedule:locks                 JSON list of lock names, for listing
 *   P:schedule:runs:<hash>           JSON list of the task's newest runs
 *
 * The client, its primitives and its lazy open are the driver's. Best effort like the driver: memcached forgets everything on restart and may evict keys.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../infra/clock.ts';
import { LazyOpen } from '../../drivers/lazy-open.ts';
import { FOREVER, Memcached } from '../../drivers/memcached/memcached-client.ts';
import { createMemcacheClient } from '../../drivers/memcached/memcached-connection.ts';
import { clearLocksVia, type LockInfo, type RunRecord, type ScheduleStore } from '../store.ts';

interface LockValue { name: string; owner: string; acquiredAt: number; expiresAt: number }

export class MemcachedScheduleStore implements ScheduleStore {
  readonly description: string;
  private readonly mc: Memcached;
  private readonly opened: LazyOpen;

  constructor(servers: string, prefix: string, private readonly clock: Clock) {
    this.description = `memcached (${servers})`;
    const client = createMemcacheClient(servers);
    this.mc = new Memcached(client, `${prefix}:schedule`);
    this.opened = new LazyOpen(async () => {
      await client.version();
    }, { what: `reach memcached at ${servers}`, fix: 'start memcached or fix MEMCACHED_SERVERS / application/config/job.ts' });
  }

  async claim(task: string, tick: number, owner: string, keepMs: number): Promise<boolean> {
    await this.opened.open();
    return this.mc.add(this.key('claim', task, tick), owner, Math.ceil(keepMs / 1000));
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.opened.open();
    const now = this.clock.now();
    const value = JSON.stringify({ name, owner, acquiredAt: now, expiresAt: now + ttlMs } satisfies LockValue);
    const key = this.key('lock', name);
    const taken = (await this.mc.add(key, value, lifetime(ttlMs)))
      || (await this.mc.swap(key, (v) => (free(v, now) ? value : null), lifetime(ttlMs)));
    if (taken) await this.swapOrAdd(this.key('locks'), (names: string[]) => (names.includes(name) ? null : [...names, name]));
    return taken;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.opened.open();
    const expiresAt = this.clock.now() + ttlMs;
    return this.mc.swap(this.key('lock', name), (v) => (parse(v).owner === owner && owner ? JSON.stringify({ ...parse(v), expiresAt }) : null), lifetime(ttlMs));
  }

  async release(name: string, owner: string): Promise<boolean> {
    await this.opened.open();
    return this.mc.swap(this.key('lock', name), (v) => (parse(v).owner === owner && owner ? JSON.stringify({ ...parse(v), owner: '', expiresAt: 0 }) : null), 60);
  }

  async locks(): Promise<LockInfo[]> {
    await this.opened.open();
    const names = JSON.parse((await this.mc.get(this.key('locks'))) ?? '[]') as string[];
    const out: LockInfo[] = [];
    for (const name of names) {
      const raw = await this.mc.get(this.key('lock', name));
      const lock = raw ? parse(raw) : null;
      if (lock && lock.owner) out.push({ name, owner: lock.owner, acquiredAt: lock.acquiredAt, expiresAt: lock.expiresAt });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  clearLocks(names?: string[]): Promise<LockInfo[]> {
    return clearLocksVia(this, names);
  }

  async saveRun(run: RunRecord, keep: number): Promise<void> {
    await this.opened.open();
    await this.swapOrAdd(this.key('runs', run.task), (runs: RunRecord[]) =>
      [run, ...runs.filter((r) => r.id !== run.id)].sort((a, b) => b.startedAt - a.startedAt).slice(0, keep));
  }

  async runs(task: string, limit: number): Promise<RunRecord[]> {
    await this.opened.open();
    return (JSON.parse((await this.mc.get(this.key('runs', task))) ?? '[]') as RunRecord[]).slice(0, limit);
  }

  async close(): Promise<void> {
    this.mc.client.shutdown();
  }

  /** `<prefix>:schedule:<kind>`, then a hash of the name (names may hold spaces), then `more`. */
  private key(kind: string, name?: string, ...more: number[]): string {
    return name === undefined ? this.mc.key(kind) : this.mc.key(kind, createHash('sha1').update(name).digest('hex'), ...more);
  }

  /** Changes the JSON list at `key` (creating it), retrying when another writer changed it first. */
  private async swapOrAdd<T>(key: string, change: (list: T[]) => T[] | null): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const first = change([]);
      if (first !== null && (await this.mc.add(key, JSON.stringify(first), FOREVER))) return;
      let unchanged = false;
      const swapped = await this.mc.swap(key, (raw) => {
        const next = change(JSON.parse(raw) as T[]);
        unchanged = next === null;
        return next === null ? null : JSON.stringify(next);
      }, FOREVER);
      if (swapped || unchanged) return;
    }
  }
}

const parse = (raw: string) => JSON.parse(raw) as LockValue;
const free = (raw: string, now: number) => {
  const lock = parse(raw);
  return lock.owner === '' || lock.expiresAt <= now;
};
/** The key's lifetime in memcached: twice the TTL, as a backstop (the store's clock decides). */
const lifetime = (ttlMs: number) => Math.ceil((2 * ttlMs) / 1000);
