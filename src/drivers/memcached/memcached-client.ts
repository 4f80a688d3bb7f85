/**
 * The atomic memcached primitives the `memcached` driver is built from: `add` (create if
 * absent), `incr`, and `gets` + `cas` (compare-and-swap), over a memcache-client client, with
 * every key under the driver's prefix. No value is ever read, changed and written back unguarded.
 */
import type { MemcacheClient } from 'memcache-client';

/** A lease being ended: it never lapses, so nobody can claim the job until its record is gone. */
export const TOMBSTONE = `ending ${Number.MAX_SAFE_INTEGER}`;
/** Keys per multi-get. */
const CHUNK = 100;
/** No expiry. memcache-client gives keys a 60 s lifetime unless told otherwise, which would drop every job older than a minute. */
export const FOREVER = 0;

export class Memcached {
  constructor(readonly client: MemcacheClient, private readonly prefix: string) {}

  key(...parts: (string | number)[]): string {
    return [this.prefix, ...parts].join(':');
  }

  async get(key: string): Promise<string | undefined> {
    const r = await this.client.get<string>(key);
    return r?.value;
  }

  async getMany(keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      if (chunk.length === 0) continue;
      const r = (await this.client.get<string>(chunk)) as unknown as Record<string, { value: string }> | undefined;
      for (const [k, v] of Object.entries(r ?? {})) out.set(k, v.value);
    }
    return out;
  }

  /** Stores `value` with no expiry. */
  async set(key: string, value: string): Promise<void> {
    await this.client.set(key, value, { lifetime: FOREVER });
  }

  /** Deletes `key`, whether or not it exists. */
  async delete(key: string): Promise<void> {
    await this.client.delete(key).catch(() => undefined);
  }

  /** Creates `key` if absent; true when this call created it. */
  async add(key: string, value: string, ttlSeconds = FOREVER): Promise<boolean> {
    try {
      await this.client.add(key, value, { lifetime: ttlSeconds });
      return true;
    } catch (error) {
      if (code(error) === 'NOT_STORED') return false;
      throw error;
    }
  }

  /** Increments a counter, creating it at 0 first when missing. */
  async incr(key: string, by = 1): Promise<number> {
    for (;;) {
      try {
        return Number(await this.client.incr(key, by));
      } catch (error) {
        if (code(error) !== 'NOT_FOUND') throw error;
        await this.add(key, '0');
      }
    }
  }

  /** Replaces `key` when `accept(current)` holds and nobody changed it meanwhile (gets + cas). */
  async swap(key: string, accept: (current: string) => string | null, ttlSeconds = FOREVER): Promise<boolean> {
    for (let i = 0; i < 10; i++) {
      const current = await this.client.gets<string>(key);
      if (!current) return false;
      const next = accept(current.value);
      if (next === null) return false;
      try {
        await this.client.cas(key, next, { casUniq: current.casUniq, lifetime: ttlSeconds });
        return true;
      } catch (error) {
        if (code(error) === 'NOT_FOUND') return false;
        if (code(error) !== 'EXISTS') throw error;
      }
    }
    return false;
  }

  /**
   * Sets `key` to `change(current)` (current undefined when absent) by `add` or `gets` + `cas`,
   * again and again until no other writer came between; false when `change` says null (no change).
   */
  async update(key: string, change: (current: string | undefined) => string | null): Promise<boolean> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const current = await this.client.gets<string>(key);
      const next = change(current?.value);
      if (next === null) return false;
      if (!current) {
        if (await this.add(key, next)) return true;
      } else {
        try {
          await this.client.cas(key, next, { casUniq: current.casUniq, lifetime: FOREVER });
          return true;
        } catch (error) {
          if (code(error) !== 'EXISTS' && code(error) !== 'NOT_FOUND') throw error;
        }
      }
      // Many writers at once: spread the next tries out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 1 + attempt)));
    }
    throw new Error(`memcached: ${key} kept changing under 200 updates in a row`);
  }

  /** Deletes `key` only while `accept(value)` holds: CAS it to a tombstone first, then delete. */
  async deleteIf(key: string, accept: (current: string) => boolean): Promise<boolean> {
    if (!(await this.swap(key, (v) => (accept(v) ? TOMBSTONE : null), 60))) return false;
    await this.delete(key);
    return true;
  }
}

/** The memcached reply of a failed command: `NOT_STORED`, `NOT_FOUND`, `EXISTS`. */
export function code(error: unknown): string {
  const tokens = (error as { cmdTokens?: unknown })?.cmdTokens;
  return Array.isArray(tokens) ? String(tokens[0]) : String((error as Error)?.message ?? '');
}
