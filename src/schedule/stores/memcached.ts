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
 * Best effort like the driver: memcached forgets everything on restart and may evict keys.
 */
import { createHash } from 'node:crypto';
import { MemcacheClient } from 'memcache-client';
import type { Clock } from '../../core/clock.ts';
import { ConnectionError, coerceError } from '../../core/errors.ts';
import type { LockInfo, RunRecord, ScheduleStore } from '../store.ts';

interface LockValue { name: string; owner: string; acquiredAt: number; expiresAt: number }

/** No expiry (memcache-client's default lifetime is 60 s). */
const FOREVER = 0;

export class MemcachedScheduleStore implements ScheduleStore {
  readonly description: string;
  private readonly client: MemcacheClient;
  private ready: Promise<void> | null = null;

  constructor(private readonly servers: string, private readonly prefix: string, private readonly clock: Clock) {
    this.description = `memcached (${servers})`;
    const list = servers.split(',').map((s) => s.trim()).filter(Boolean);
    this.client = new MemcacheClient({
      server: list.length === 1 ? list[0]! : { servers: list.map((server) => ({ server, maxConnections: 4 })) },
      cmdTimeout: 5000,
      noDelay: true,
      ignoreNotStored: false,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    } as ConstructorParameters<typeof MemcacheClient>[0]);
  }

  async claim(task: string, tick: number, owner: string, keepMs: number): Promise<boolean> {
    return this.add(`${this.key('claim', task)}:${tick}`, owner, Math.ceil(keepMs / 1000));
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    const value = JSON.stringify({ name, owner, acquiredAt: now, expiresAt: now + ttlMs } satisfies LockValue);
    const key = this.key('lock', name);
    const taken = (await this.add(key, value, lifetime(ttlMs)))
      || (await this.swap(key, (v) => (free(v, now) ? value : null), lifetime(ttlMs)));
    if (taken) await this.swapOrAdd(this.key('locks'), (names: string[]) => (names.includes(name) ? null : [...names, name]));
    return taken;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const expiresAt = this.clock.now() + ttlMs;
    return this.swap(this.key('lock', name), (v) => (parse(v).owner === owner && owner ? JSON.stringify({ ...parse(v), expiresAt }) : null), lifetime(ttlMs));
  }

  async release(name: string, owner: string): Promise<boolean> {
    return this.swap(this.key('lock', name), (v) => (parse(v).owner === owner && owner ? JSON.stringify({ ...parse(v), owner: '', expiresAt: 0 }) : null), 60);
  }

  async locks(): Promise<LockInfo[]> {
    await this.open();
    const names = (await this.getJson<string[]>(this.key('locks'))) ?? [];
    const out: LockInfo[] = [];
    for (const name of names) {
      const raw = await this.get(this.key('lock', name));
      const lock = raw ? parse(raw) : null;
      if (lock && lock.owner) out.push({ name, owner: lock.owner, acquiredAt: lock.acquiredAt, expiresAt: lock.expiresAt });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async clearLocks(names?: string[]): Promise<LockInfo[]> {
    const removed: LockInfo[] = [];
    for (const lock of await this.locks()) {
      if (names && !names.includes(lock.name)) continue;
      if (await this.release(lock.name, lock.owner)) removed.push(lock);
    }
    return removed;
  }

  async saveRun(run: RunRecord, keep: number): Promise<void> {
    await this.swapOrAdd(this.key('runs', run.task), (runs: RunRecord[]) =>
      [run, ...runs.filter((r) => r.id !== run.id)].sort((a, b) => b.startedAt - a.startedAt).slice(0, keep));
  }

  async runs(task: string, limit: number): Promise<RunRecord[]> {
    await this.open();
    return ((await this.getJson<RunRecord[]>(this.key('runs', task))) ?? []).slice(0, limit);
  }

  async close(): Promise<void> {
    this.client.shutdown();
  }

  private key(kind: string, name?: string): string {
    return name === undefined ? `${this.prefix}:schedule:${kind}` : `${this.prefix}:schedule:${kind}:${createHash('sha1').update(name).digest('hex')}`;
  }

  private open(): Promise<void> {
    this.ready ??= this.client.version().then(() => undefined, (error: unknown) => {
      this.ready = null;
      throw new ConnectionError(`Cannot reach memcached at ${this.servers}: ${coerceError(error).message} — start memcached or fix MEMCACHED_SERVERS / application/config/job.ts`, { cause: error });
    });
    return this.ready;
  }

  private async get(key: string): Promise<string | undefined> {
    return (await this.client.get<string>(key))?.value;
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /** Creates `key` if absent; true when this call created it. */
  private async add(key: string, value: string, seconds: number): Promise<boolean> {
    await this.open();
    try {
      await this.client.add(key, value, { lifetime: seconds });
      return true;
    } catch (error) {
      if (code(error) === 'NOT_STORED') return false;
      throw error;
    }
  }

  /** Replaces `key` when `accept(current)` gives a value and nobody changed it meanwhile (gets + cas). */
  private async swap(key: string, accept: (current: string) => string | null, seconds: number): Promise<boolean> {
    await this.open();
    const current = await this.client.gets<string>(key);
    if (!current) return false;
    const next = accept(current.value);
    if (next === null) return false;
    try {
      await this.client.cas(key, next, { casUniq: current.casUniq, lifetime: seconds });
      return true;
    } catch (error) {
      if (code(error) === 'EXISTS' || code(error) === 'NOT_FOUND') return false; // changed by another: it won
      throw error;
    }
  }

  /** Changes the JSON list at `key` (creating it), retrying when another writer changed it first. */
  private async swapOrAdd<T>(key: string, change: (list: T[]) => T[] | null): Promise<void> {
    for (let i = 0; i < 50; i++) {
      const first = change([]);
      if (first !== null && (await this.add(key, JSON.stringify(first), FOREVER))) return;
      const current = await this.client.gets<string>(key);
      if (!current) continue;
      const next = change(JSON.parse(current.value) as T[]);
      if (next === null) return;
      try {
        await this.client.cas(key, JSON.stringify(next), { casUniq: current.casUniq, lifetime: FOREVER });
        return;
      } catch (error) {
        if (code(error) !== 'EXISTS' && code(error) !== 'NOT_FOUND') throw error;
      }
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

function code(error: unknown): string {
  const tokens = (error as { cmdTokens?: unknown })?.cmdTokens;
  return Array.isArray(tokens) ? String(tokens[0]) : String((error as Error)?.message ?? '');
}
