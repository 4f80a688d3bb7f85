/**
 * The `file` driver's overlap keys: `locks/<sha1 of key>.lock`, made by exclusive create, so one
 * dispatch of a key wins. A lock whose job is nowhere to be found is taken over after a while
 * (its dispatch died mid-way). The Locks page lists them and can free one.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../infra/clock.ts';
import { diskFull, list, newId, readJson } from './file-store.ts';

/** A lock whose job is nowhere to be found is taken over after this long (its dispatch died mid-way). */
const STALE_LOCK_MS = 5_000;

export class FileLocks {
  constructor(private readonly root: string, private readonly clock: Clock) {}

  private lockPath(key: string): string {
    return path.join(this.root, 'locks', `${createHash('sha1').update(key).digest('hex')}.lock`);
  }

  /** Creates the overlap lock for `id`; returns the id of the job already holding it, or null. */
  async take(queue: string, key: string, id: string): Promise<string | null> {
    const file = this.lockPath(key);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const handle = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
        try {
          await handle.writeFile(JSON.stringify({ id, key, at: this.clock.now() }));
        } catch (error) {
          await handle.close();
          await rm(file, { force: true }); // never leave a half-written lock
          throw (error as NodeJS.ErrnoException).code === 'ENOSPC' ? diskFull(this.root, error) : error;
        }
        await handle.close();
        return null;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const held = await readJson<{ id: string; at: number }>(file);
      if (!held) continue; // released meanwhile, or still being written
      if (await this.exists(queue, held.id)) return held.id;
      if (this.clock.now() - held.at < STALE_LOCK_MS) return held.id; // its dispatch may still be writing
      // The holder's dispatch died before writing its job: move the stale lock aside (one taker wins).
      const aside = `${file}.stale.${newId()}`;
      try {
        await rename(file, aside);
      } catch {
        continue;
      }
      const moved = await readJson<{ id: string }>(aside);
      await rm(aside, { force: true });
      if (moved && moved.id !== held.id) return moved.id; // not the stale one: a live lock, give up our dispatch
    }
    return null;
  }

  /** Frees `key` if job `id` holds it. */
  async drop(key: string | null, id: string): Promise<void> {
    if (key === null) return;
    const file = this.lockPath(key);
    const held = await readJson<{ id: string }>(file);
    if (held?.id === id) await rm(file, { force: true });
  }

  /** Every lock file's key and holder. */
  async list(): Promise<{ key: string; id: string; at: number }[]> {
    const dir = path.join(this.root, 'locks');
    const files = (await list(dir)).filter((f) => f.endsWith('.lock'));
    const held = await Promise.all(files.map((f) => readJson<{ key: string; id: string; at: number }>(path.join(dir, f))));
    return held.filter((h): h is { key: string; id: string; at: number } => h !== null && typeof h.key === 'string');
  }

  /** Frees `key` whoever holds it (moved aside first, so one release wins); false when it was not held. */
  async release(key: string): Promise<boolean> {
    const aside = path.join(this.root, 'tmp', `${newId()}.released`);
    try {
      await rename(this.lockPath(key), aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    await rm(aside, { force: true });
    return true;
  }

  /** Whether job `id` is pending or reserved on `queue`. */
  private async exists(queue: string, id: string): Promise<boolean> {
    const [pending, reserved] = await Promise.all([list(path.join(this.root, 'pending', queue)), list(path.join(this.root, 'reserved', queue))]);
    return pending.some((f) => f.split('.')[1] === id) || reserved.some((f) => f.startsWith(`${id}.`));
  }
}
