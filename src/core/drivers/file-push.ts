/**
 * Storing jobs in the `file` driver, one or many at a time (`push` is a bulk push of one): each
 * job's overlap key is taken first (file-locks.ts; within the call, the first job of a key wins),
 * then every job file is written to tmp/ and fsynced, and only then are they renamed into
 * pending/, in the order given. A failure before the renames stores nothing and frees the keys
 * taken; the renames themselves cannot fail but for a vanished folder, and then the error names
 * how many jobs were stored. Jobs of one call get ids that sort in the order given, so jobs due
 * at the same time are claimed in that order. Idle workers wake on the new files (chokidar).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.ts';
import type { NewJob, PushResult } from '../driver.ts';
import type { FileLocks } from './file-locks.ts';
import { newId, pad, writeTmp, type Header } from './file-store.ts';
import { inChunks, overlapsWithinCall } from './record-shared.ts';

/** Files written (or locks taken) at once. */
const WIDTH = 64;

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
  const results: PushResult[] = await inChunks(jobs, WIDTH, async (job, i) => {
    if (within[i]! >= 0 || job.overlapKey === null) return { id: ids[i]! };
    const holder = await locks.take(job.queue, job.overlapKey, ids[i]!);
    return holder === null ? { id: ids[i]! } : { skipped: 'overlapping', existingId: holder };
  });
  // A later job of a key the call took is skipped in favour of the first; if the first was skipped, so is it.
  within.forEach((first, i) => {
    if (first < 0) return;
    const winner = results[first]!;
    results[i] = { skipped: 'overlapping', existingId: winner.id ?? winner.existingId };
  });
  const stored = jobs.map((job, i) => ({ job, id: results[i]!.id })).filter((s): s is { job: NewJob; id: string } => s.id !== undefined);
  const createdAt = clock.now();
  const written = await inChunks(stored, WIDTH, ({ job, id }) => {
    const header: Header = { id, name: job.name, queue: job.queue, createdAt, overlapKey: job.overlapKey };
    return writeTmp(root, `${JSON.stringify(header)}\n${job.payload}`).then((tmp) => ({ tmp }), (error: unknown) => ({ error }));
  });
  const failed = written.find((w) => 'error' in w);
  if (failed) {
    await inChunks(written, WIDTH, (w) => ('tmp' in w ? rm(w.tmp, { force: true }) : Promise.resolve()));
    await inChunks(stored, WIDTH, ({ job, id }) => locks.drop(job.overlapKey, id));
    throw failed.error;
  }
  const tmps = written.map((w) => ('tmp' in w ? w.tmp : ''));
  for (const queue of new Set(stored.map((s) => s.job.queue))) await mkdir(path.join(root, 'pending', queue), { recursive: true, mode: 0o700 });
  let renamed = 0;
  try {
    for (const [i, { job, id }] of stored.entries()) {
      await rename(tmps[i]!, path.join(root, 'pending', job.queue, `${pad(job.scheduledAt)}.${id}.0.job`));
      renamed++;
    }
  } catch (error) {
    throw new Error(`The file driver stored ${renamed} of ${stored.length} jobs, then failed: ${(error as Error).message}`, { cause: error });
  }
  return results;
}
