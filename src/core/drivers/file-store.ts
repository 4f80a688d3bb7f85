/**
 * The `file` driver's on-disk primitives: whole-file writes (temp file, fsync, rename), renames
 * that tell whether the file was still there, folder listings that treat a missing folder as
 * empty, and the job file format (a JSON header line, then the payload).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ConnectionError } from '../errors.ts';

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

/** Writes `content` to `root`/tmp, fsyncs it, and renames it to `target` (a whole file or none). */
export async function writeAtomic(root: string, target: string, content: string): Promise<void> {
  const tmp = path.join(root, 'tmp', `${newId()}.tmp`);
  try {
    const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw (error as NodeJS.ErrnoException).code === 'ENOSPC' ? diskFull(root, error) : error;
  }
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
