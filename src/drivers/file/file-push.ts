/**
 * Storing jobs in the `file` driver, one or many at a time (`push` is a bulk push of one): every
 * job file is written to tmp/ and fsynced first (a failure there stores nothing); then, a chunk
 * at a time in the order given, each job's overlap key is taken (file-locks.ts; within the call
 * the first job of a key wins) and its file renamed into pending/. A failure then (a vanished
 * folder, a full disk for a lock file) says how many jobs were stored. Jobs of one call get ids
 * that sort in the order given, so jobs due at the same time are claimed in that order. Idle
 * workers wake on the new files (chokidar).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../infra/clock.ts';
import type { NewJob, PushResult } from '../../store/driver.ts';
import type { FileLocks } from './file-locks.ts';
import { newId, pad, writeTmp, type Header } from './file-store.ts';
import { inChunks, overlapsWithinCall } from '../record-shared.ts';

/** Files written (or locks taken) at once: more only queue up behind libuv's few threads (measured). */
const WIDTH = 16;

/** Ids for `n` jobs of one call: one fresh id, then a fixed-width counter, so they sort in order. */
function idsFor(n: number): string[] {
  if (n === 1) return [newId()];
  const base = newId();
  const width = (n - 1).toString(36).length;
  return Array.from({ length: n }, (_, i) => `${base}${i.toString(36).padStart(width, '0')}`);
}

export async function pushJobs(root: string, clock: Clock, locks: FileLocks, jobs: readonly NewJob[]): Promise<PushResult[]> {
  const ids = idsFor(jobs.length);
  const within = overlapsWithinCall(jobs);
  const results: PushResult[] = ids.map((id) => ({ id }));
  const createdAt = clock.now();
  const writes = jobs.map((job, i) => ({ job, id: ids[i]!, i })).filter(({ i }) => within[i]! < 0);
  const written = await inChunks(writes, WIDTH, ({ job, id }) => {
    const header: Header = { id, name: job.name, queue: job.queue, createdAt, overlapKey: job.overlapKey };
    return writeTmp(root, `${JSON.stringify(header)}\n${job.payload}`).then((tmp) => ({ tmp }), (error: unknown) => ({ error }));
  });
  const failed = written.find((w) => 'error' in w);
  if (failed) {
    await inChunks(written, WIDTH, (w) => ('tmp' in w ? rm(w.tmp, { force: true }) : Promise.resolve()));
    throw failed.error;
  }
  const tmps = written.map((w) => ('tmp' in w ? w.tmp : ''));
  for (const queue of new Set(writes.map((w) => w.job.queue))) await mkdir(path.join(root, 'pending', queue), { recursive: true, mode: 0o700 });
  // A chunk's keys are taken just before its files are renamed into place: a lock whose job is
  // not found for a while is taken for a dispatch that died (file-locks.ts).
  let next = 0;
  let stored = 0;
  try {
    for (; next < writes.length; next += WIDTH) {
      const chunk = writes.slice(next, next + WIDTH);
      await Promise.all(chunk.map(async ({ job, id, i }, j) => {
        const holder = job.overlapKey === null ? null : await locks.take(job.queue, job.overlapKey, id);
        if (holder !== null) {
          results[i] = { skipped: 'overlapping', existingId: holder };
          await rm(tmps[next + j]!, { force: true });
          return;
        }
        await rename(tmps[next + j]!, path.join(root, 'pending', job.queue, `${pad(job.scheduledAt)}.${id}.0.job`));
        stored++;
      }));
    }
  } catch (error) {
    await inChunks(tmps.slice(next), WIDTH, (tmp) => rm(tmp, { force: true }));
    if (stored === 0) throw error; // nothing stored: the error as it came (a full disk says so)
    throw new Error(`The file driver stored ${stored} of ${writes.length} jobs, then failed: ${(error as Error).message}`, { cause: error });
  }
  // A later job of a key the call took is skipped in favour of the first; if the first was skipped, so is it.
  within.forEach((first, i) => {
    if (first < 0) return;
    const winner = results[first]!;
    results[i] = { skipped: 'overlapping', existingId: winner.id ?? winner.existingId };
  });
  return results;
}
