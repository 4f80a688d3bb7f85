/**
 * The `file` driver's on-disk primitives: whole-file writes (temp file, fsync, rename), renames
 * that tell whether the file was still there, folder listings that treat a missing folder as
 * empty, a lock file for read-change-write steps across processes, and the job file format (a
 * JSON header line, then the payload).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConnectionError } from '../../infra/errors.ts';

export interface Header {
  id: string;
  name: string;
  queue: string;
  createdAt: number;
  overlapKey: string | null;
}

const DUE_WIDTH = 15;
/** A time as a fixed-width file-name part, so names sort by it. */
export const pad = (n: number) => String(Math.max(0, Math.floor(n))).padStart(DUE_WIDTH, '0');

/** The error of a full disk, with what to do about it. */
export function diskFull(root: string, error: unknown): ConnectionError {
  return new ConnectionError(`The disk holding ${root} is full (ENOSPC): nothing was stored — free some space and dispatch again`, { cause: error });
}

/** Writes `content` to a new file in `root`/tmp and fsyncs it; its path. Nothing is left on failure. */
export async function writeTmp(root: string, content: string): Promise<string> {
  const tmp = path.join(root, 'tmp', `${newId()}.tmp`);
  try {
    const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return tmp;
  } catch (error) {
    await rm(tmp, { force: true });
    throw (error as NodeJS.ErrnoException).code === 'ENOSPC' ? diskFull(root, error) : error;
  }
}

/** Writes `content` to `root`/tmp, fsyncs it, and renames it to `target` (a whole file or none). */
export async function writeAtomic(root: string, target: string, content: string): Promise<void> {
  const tmp = await writeTmp(root, content);
  try {
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Runs `fn` holding `lock`, a file made by exclusive create, so one process at a time changes
 * what it guards. A lock older than `staleMs` (wall-clock, as file times are: its holder died)
 * is taken over.
 */
export async function withLock<T>(lock: string, staleMs: number, fn: () => Promise<T>): Promise<T> {
  const token = newId();
  await mkdir(path.dirname(lock), { recursive: true, mode: 0o700 });
  for (let waited = 0; ; waited++) {
    try {
      await writeFile(lock, token, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await takeOverIfStale(lock, staleMs);
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + waited) * (0.5 + Math.random())));
  }
  try {
    return await fn();
  } finally {
    if ((await readFile(lock, 'utf8').catch(() => null)) === token) await rm(lock, { force: true });
  }
}

/** Moves a stale lock aside (one taker wins); puts back a live one moved by mistake. */
async function takeOverIfStale(lock: string, staleMs: number): Promise<void> {
  const held = await stat(lock).catch(() => null);
  if (!held || Date.now() - held.mtimeMs < staleMs) return;
  const seen = await readFile(lock, 'utf8').catch(() => null);
  const aside = `${lock}.stale.${newId()}`;
  if (!(await rename(lock, aside).then(() => true, () => false))) return;
  // Another taker may have freed the stale lock and a writer made a fresh one since we looked.
  if ((await readFile(aside, 'utf8').catch(() => null)) !== seen) await link(aside, lock).catch(() => undefined);
  await rm(aside, { force: true });
}

/** A sortable unique id: milliseconds in base 36, then 8 random hex digits. */
export function newId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}${randomBytes(4).toString('hex')}`;
}

export async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Renames `from` to `to`; false when `from` was gone (another worker took it). */
export async function renamed(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** A job file is a JSON header line, then the payload text as stored. */
export function splitJob(text: string): [string, string] {
  const newline = text.indexOf('\n');
  return newline < 0 ? [text, ''] : [text.slice(0, newline), text.slice(newline + 1)];
}

export function parseHeader(line: string): Header | null {
  try {
    const header = JSON.parse(splitJob(line)[0]) as Header;
    return typeof header?.name === 'string' ? header : null;
  } catch {
    return null;
  }
}
