/**
 * The `memcached` driver's record store (record-store.ts), on memcached's own atomic steps:
 *   P:rec:<namespace>:<sha1 of id>   a JSON header line (id, write time, expiry) then the value;
 *                                    its version is memcached's cas unique, so a compare-and-set
 *                                    is one `cas`, and a create one `add`
 *   P:recs:<namespace>               the namespace's index: ids, the most recently written first,
 *                                    at most INDEX_MAX, changed by gets + cas
 * Time to live is judged by the driver's clock, to the millisecond, as the other drivers do; the
 * item is also given a native lifetime (whole seconds, rounded up, plus one), so memcached frees
 * it soon after. A delete at a version first replaces the record by a tombstone by `cas` (the
 * classic protocol has no guarded delete), then deletes it; a tombstone reads as absent, and a
 * create waits for it to go unless it is older than TOMBSTONE_MS (its deleter died). Listing
 * reads the index, drops from it the ids whose record is gone or expired, and returns the rest.
 * Best effort as the driver is: an evicted record or index is lost.
 */
import { createHash } from 'node:crypto';
import type { MemcacheClient } from 'memcache-client';
import type { Clock } from '../../infra/clock.ts';
import type { ListedRecord, RecordStore, StoredRecord } from '../../store/record-store.ts';
import { FOREVER, code, type Memcached } from './memcached-client.ts';
import { checkRecord } from '../record-shared.ts';

/** Ids a namespace's index keeps: listing shows at most this many, the most recently written. */
export const INDEX_MAX = 1_000;
/** A tombstone older than this was left by a deleter that died: a create may replace it. */
const TOMBSTONE_MS = 5_000;
/** memcached reads a lifetime above 30 days as a Unix time. */
const MAX_RELATIVE_S = 30 * 24 * 3600;
/** Keys per multi-get. */
const CHUNK = 100;

interface RecordHeader {
  id: string;
  at: number;
  exp: number | null;
  /** Set on a tombstone: the record is being deleted. */
  dead?: true;
}

interface Read {
  header: RecordHeader;
  value: string;
  cas: string;
}

function parse(text: string | undefined, cas: string | number | undefined): Read | null {
  if (text === undefined || cas === undefined) return null;
  const newline = text.indexOf('\n');
  try {
    return { header: JSON.parse(newline < 0 ? text : text.slice(0, newline)) as RecordHeader, value: newline < 0 ? '' : text.slice(newline + 1), cas: String(cas) };
  } catch {
    return null;
  }
}

/** memcached's lifetime for a time to live: whole seconds rounded up, one more for its coarse clock. */
function lifetime(ttlMs: number | null): number {
  if (ttlMs === null) return 0;
  const seconds = Math.ceil(Math.max(0, ttlMs) / 1000) + 1;
  return seconds <= MAX_RELATIVE_S ? seconds : Math.ceil(Date.now() / 1000) + seconds;
}

export class MemcachedRecords implements RecordStore {
  private readonly client: MemcacheClient;

  constructor(private readonly mc: Memcached, private readonly clock: Clock) {
    this.client = mc.client;
  }

  private key(namespace: string, id: string): string {
    return this.mc.key('rec', namespace, createHash('sha1').update(id).digest('hex'));
  }

  private async read(key: string): Promise<Read | null> {
    const r = await this.client.gets<string>(key);
    return parse(r?.value, r?.casUniq);
  }

  /** A tombstone, or past its time to live by the driver's clock. */
  private gone(read: Read): boolean {
    return !!read.header.dead || (read.header.exp !== null && read.header.exp <= this.clock.now());
  }

  private live(read: Read | null): read is Read {
    return read !== null && !this.gone(read);
  }

  async getRecord(namespace: string, id: string): Promise<StoredRecord | null> {
    checkRecord(namespace, id);
    const read = await this.read(this.key(namespace, id));
    return this.live(read) ? { value: read.value, version: read.cas } : null;
  }

  async casRecord(namespace: string, id: string, version: string | null, value: string, ttlMs: number | null): Promise<boolean> {
    checkRecord(namespace, id, value);
    const key = this.key(namespace, id);
    const at = this.clock.now();
    const text = `${JSON.stringify({ id, at, exp: ttlMs === null ? null : at + ttlMs } satisfies RecordHeader)}\n${value}`;
    const written = version === null ? await this.create(key, text, ttlMs) : await this.replace(key, version, text, ttlMs);
    if (written) await this.toFront(namespace, id);
    return written;
  }

  /** Creates the record when there is none, or only an expired one or an abandoned tombstone. */
  private async create(key: string, text: string, ttlMs: number | null): Promise<boolean> {
    for (let tries = 0; tries < 3; tries++) {
      if (await this.mc.add(key, text, lifetime(ttlMs))) return true;
      const current = await this.read(key);
      if (current === null) continue; // gone meanwhile: add again
      if (!this.gone(current)) return false;
      if (current.header.dead && this.clock.now() - current.header.at < TOMBSTONE_MS) return false;
      return this.cas(key, text, current.cas, ttlMs);
    }
    return false;
  }

  /** Replaces the record at `version`, if it is still live (an expired one may linger on the server). */
  private async replace(key: string, version: string, text: string, ttlMs: number | null): Promise<boolean> {
    const current = await this.read(key);
    if (!this.live(current) || current.cas !== version) return false;
    return this.cas(key, text, version, ttlMs);
  }

  private async cas(key: string, text: string, version: string, ttlMs: number | null): Promise<boolean> {
    try {
      await this.client.cas(key, text, { casUniq: version, lifetime: lifetime(ttlMs) });
      return true;
    } catch (error) {
      if (code(error) === 'EXISTS' || code(error) === 'NOT_FOUND') return false;
      throw error;
    }
  }

  async deleteRecord(namespace: string, id: string, version?: string): Promise<boolean> {
    checkRecord(namespace, id);
    const key = this.key(namespace, id);
    for (let tries = 0; tries < 100; tries++) {
      const current = await this.read(key);
      if (!this.live(current) || (version !== undefined && current.cas !== version)) return false;
      const tombstone = `${JSON.stringify({ id, at: this.clock.now(), exp: null, dead: true } satisfies RecordHeader)}\n`;
      if (!(await this.cas(key, tombstone, current.cas, TOMBSTONE_MS))) {
        if (version !== undefined) return false;
        continue; // written meanwhile: delete what is there now
      }
      await this.mc.delete(key);
      await this.dropFromIndex(namespace, new Set([id]));
      return true;
    }
    return false;
  }

  async listRecords(namespace: string, limit: number): Promise<ListedRecord[]> {
    checkRecord(namespace, null);
    const index = await this.client.gets<string>(this.indexKey(namespace));
    const ids = parseIndex(index?.value);
    const out: ListedRecord[] = [];
    const gone = new Set<string>();
    for (let i = 0; i < ids.length && out.length < limit; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const keys = chunk.map((id) => this.key(namespace, id));
      const found = (await this.client.gets<string>(keys)) as unknown as Record<string, { value: string; casUniq: string | number }> | undefined;
      chunk.forEach((id, j) => {
        const read = parse(found?.[keys[j]!]?.value, found?.[keys[j]!]?.casUniq);
        if (!this.live(read)) gone.add(id);
        else if (out.length < limit) out.push({ id, value: read.value, version: read.cas });
      });
    }
    if (gone.size > 0) await this.dropFromIndex(namespace, gone, index);
    return out;
  }

  private indexKey(namespace: string): string {
    return this.mc.key('recs', namespace);
  }

  /** Puts `id` first in its namespace's index (nothing to write when it is first already). */
  private async toFront(namespace: string, id: string): Promise<void> {
    // The record is written: an index that kept changing under every try costs only its listing.
    await this.mc.update(this.indexKey(namespace), (text) => {
      const ids = parseIndex(text);
      if (ids[0] === id) return null;
      return JSON.stringify([id, ...ids.filter((other) => other !== id)].slice(0, INDEX_MAX));
    }).catch(() => undefined);
  }

  /**
   * Takes `ids` out of the index as read (`index`, or read now), by one `cas`: a writer that made
   * one of them anew meanwhile changed the index, so the cas fails and the id stays. Losing is
   * fine: a stale id is only skipped by the next listing, which drops it again.
   */
  private async dropFromIndex(namespace: string, ids: Set<string>, index?: { value: string; casUniq: string | number } | null): Promise<void> {
    const key = this.indexKey(namespace);
    const read = index === undefined ? await this.client.gets<string>(key) : index;
    if (!read) return;
    const all = parseIndex(read.value);
    const kept = all.filter((id) => !ids.has(id));
    if (kept.length === all.length) return;
    await this.client.cas(key, JSON.stringify(kept), { casUniq: read.casUniq, lifetime: FOREVER }).catch(() => undefined);
  }
}

function parseIndex(text: string | undefined): string[] {
  try {
    const ids: unknown = text === undefined ? [] : JSON.parse(text);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return []; // unreadable: written anew by the next write
  }
}
