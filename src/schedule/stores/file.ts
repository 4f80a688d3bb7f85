/**
 * The schedule store of the file driver (one host, no server), under `<file_path>/schedule/`:
 *
 *   claims/<task>/<tick>        created exclusively (`wx`): the process that made it has the tick;
 *                               it reads `<claimed at> <owner>`, and is deleted when older than kept
 *   locks/<name>/<generation>   the lock is its highest generation, a JSON file that is never
 *                               replaced by another owner: taking a lock (free, released or
 *                               lapsed) links generation G+1 into place, which fails for all but
 *                               one racer; the holder rewrites its own generation (temp file +
 *                               rename) to renew or release it
 *   runs/<task>/<start>-<id>    one file per run, written as a temp file and renamed into place
 *
 * Folder names are the task or lock name made safe for a file system, plus a hash of the name.
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../infra/clock.ts';
import { writeAtomic } from '../../drivers/file/file-store.ts';
import type { LockInfo, RunRecord, ScheduleStore } from '../store.ts';

interface LockFile { name: string; owner: string; acquiredAt: number; expiresAt: number }

const RELEASED = '';
const code = (error: unknown) => (error as NodeJS.ErrnoException)?.code;

export class FileScheduleStore implements ScheduleStore {
  readonly description: string;
  private readonly root: string;
  /** The claim folders this process has swept: each once, on its first claim. */
  private readonly swept = new Set<string>();

  constructor(folder: string, private readonly clock: Clock) {
    this.root = path.join(folder, 'schedule');
    this.description = `file (${this.root})`;
  }

  async claim(task: string, tick: number, owner: string, keepMs: number): Promise<boolean> {
    const dir = path.join(this.root, 'claims', safe(task));
    await fs.mkdir(dir, { recursive: true });
    const now = this.clock.now();
    if (!this.swept.has(dir)) {
      this.swept.add(dir);
      await this.sweep(dir, now - keepMs);
    }
    // Linked into place whole, so no racer's sweep ever reads a claim file still being written
    // (an empty one read as claimed at 0 and swept, and a second claimer won).
    const temp = await this.temp(`${now} ${owner}`);
    try {
      await fs.link(temp, path.join(dir, String(tick)));
      return true;
    } catch (error) {
      if (code(error) === 'EEXIST') return false;
      throw error;
    } finally {
      await fs.unlink(temp).catch(() => undefined);
    }
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.clock.now();
    for (let i = 0; i < 5; i++) {
      const { gen, lock } = await this.current(name);
      if (lock && lock.owner !== RELEASED && lock.expiresAt > now) return false;
      if (await this.link(name, gen + 1, { name, owner, acquiredAt: now, expiresAt: now + ttlMs })) return true;
    }
    return false;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.rewrite(name, owner, (lock) => ({ ...lock, expiresAt: this.clock.now() + ttlMs }));
  }

  async release(name: string, owner: string): Promise<boolean> {
    return this.rewrite(name, owner, (lock) => ({ ...lock, owner: RELEASED, expiresAt: 0 }));
  }

  async locks(): Promise<LockInfo[]> {
    const dir = path.join(this.root, 'locks');
    const folders = await fs.readdir(dir).catch(() => [] as string[]);
    const out: LockInfo[] = [];
    for (const folder of folders) {
      const { lock } = await this.currentIn(path.join(dir, folder));
      if (lock && lock.owner !== RELEASED) out.push({ name: lock.name, owner: lock.owner, acquiredAt: lock.acquiredAt, expiresAt: lock.expiresAt });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async clearLocks(names?: string[]): Promise<LockInfo[]> {
    const removed: LockInfo[] = [];
    for (const lock of await this.locks()) {
      if (names && !names.includes(lock.name)) continue;
      const { gen, lock: now } = await this.current(lock.name);
      if (now?.owner !== lock.owner) continue;
      // A released generation above the holder's: its renew and release no longer find it on top.
      if (await this.link(lock.name, gen + 1, { ...lock, owner: RELEASED, expiresAt: 0 })) removed.push(lock);
    }
    return removed;
  }

  async saveRun(run: RunRecord, keep: number): Promise<void> {
    const dir = path.join(this.root, 'runs', safe(run.task));
    await fs.mkdir(dir, { recursive: true });
    await this.writeAtomic(path.join(dir, `${String(run.startedAt).padStart(15, '0')}-${run.id}.json`), JSON.stringify(run));
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    await Promise.all(files.slice(0, Math.max(0, files.length - keep)).map((f) => fs.unlink(path.join(dir, f)).catch(() => undefined)));
  }

  async runs(task: string, limit: number): Promise<RunRecord[]> {
    const dir = path.join(this.root, 'runs', safe(task));
    const files = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort().reverse().slice(0, limit);
    const runs = await Promise.all(files.map((f) => fs.readFile(path.join(dir, f), 'utf8').then((t) => JSON.parse(t) as RunRecord).catch(() => null)));
    return runs.filter((r): r is RunRecord => r !== null);
  }

  async close(): Promise<void> {}

  /** Deletes the claims made before `before` (a claim file reads `<claimed at> <owner>`). */
  private async sweep(dir: string, before: number): Promise<void> {
    for (const file of await fs.readdir(dir)) {
      const claimedAt = Number((await fs.readFile(path.join(dir, file), 'utf8').catch(() => '')).split(' ')[0]);
      if (claimedAt < before) await fs.unlink(path.join(dir, file)).catch(() => undefined);
    }
  }

  /** The top generation of lock `name` and its content (null when there is none). */
  private current(name: string): Promise<{ gen: number; lock: LockFile | null }> {
    return this.currentIn(path.join(this.root, 'locks', safe(name)));
  }

  private async currentIn(dir: string): Promise<{ gen: number; lock: LockFile | null }> {
    for (;;) {
      const gens = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) => /^\d+$/.test(f)).map(Number);
      if (gens.length === 0) return { gen: 0, lock: null };
      const gen = Math.max(...gens);
      try {
        return { gen, lock: JSON.parse(await fs.readFile(path.join(dir, String(gen)), 'utf8')) as LockFile };
      } catch (error) {
        if (code(error) !== 'ENOENT') throw error; // swept by a newer generation's taker: look again
      }
    }
  }

  /** Puts generation `gen` of lock `name` in place unless it exists; removes the generations below. */
  private async link(name: string, gen: number, lock: LockFile): Promise<boolean> {
    const dir = path.join(this.root, 'locks', safe(name));
    await fs.mkdir(dir, { recursive: true });
    const temp = await this.temp(JSON.stringify(lock));
    try {
      await fs.link(temp, path.join(dir, String(gen)));
    } catch (error) {
      if (code(error) === 'EEXIST') return false;
      throw error;
    } finally {
      await fs.unlink(temp).catch(() => undefined);
    }
    const below = (await fs.readdir(dir)).filter((f) => /^\d+$/.test(f) && Number(f) < gen);
    await Promise.all(below.map((f) => fs.unlink(path.join(dir, f)).catch(() => undefined)));
    return true;
  }

  /** Rewrites `owner`'s generation of lock `name` while it is the top one; false when it is not. */
  private async rewrite(name: string, owner: string, change: (lock: LockFile) => LockFile): Promise<boolean> {
    const { gen, lock } = await this.current(name);
    if (!lock || lock.owner !== owner || owner === RELEASED) return false;
    const file = path.join(this.root, 'locks', safe(name), String(gen));
    await this.writeAtomic(file, JSON.stringify(change(lock)));
    // Taken over meanwhile (it had lapsed): the newer generation is the lock.
    return (await this.current(name)).gen === gen;
  }

  /** A whole file or none, synced to disk before it takes its name (the file driver's write). */
  private async writeAtomic(file: string, content: string): Promise<void> {
    await fs.mkdir(path.join(this.root, 'tmp'), { recursive: true });
    await writeAtomic(this.root, file, content);
  }

  /** A synced file under tmp/ holding `content`, to be linked into place. */
  private async temp(content: string): Promise<string> {
    const file = path.join(this.root, 'tmp', randomUUID());
    await this.writeAtomic(file, content);
    return file;
  }
}

/** A folder name for `name`: its safe characters and a hash, so two names never share one. */
function safe(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)}-${createHash('sha1').update(name).digest('hex').slice(0, 10)}`;
}
