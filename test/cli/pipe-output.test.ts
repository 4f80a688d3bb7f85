/**
 * Output into a pipe: a command writes all of it before it exits, however slowly the reader
 * takes it (a pipe holds 64 KiB; the rest waits for the reader). It was cut at 64 KiB, exit 0.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, makeApp, type TestApp } from '../helpers/app.ts';

const BIN = path.join(REPO, 'bin', 'rakit.js');

const FAILED = 1000; // what job:failed lists at most
let app: TestApp;

beforeAll(async () => {
  app = makeApp({ database: 'sqlite:storage/jobs.sqlite' });
  expect((await app.rakit(['job:table'])).code).toBe(0);
  expect((await app.rakit(['migrate'])).code).toBe(0);
  const db = new Database(path.join(app.dir, 'storage', 'jobs.sqlite'));
  const insert = db.prepare('INSERT INTO rakit_failed_jobs (job_id, name, queue, payloads, exception, attempts, overlap_key, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < FAILED; i++) {
      insert.run(i + 1, 'record', 'default', JSON.stringify({ tag: `t${i}` }), `Error: broke ${i}\n${'    at somewhere (file.js:1:1)\n'.repeat(120)}`, 3, null, Date.now());
    }
  })();
  db.close();
});
afterAll(() => app?.remove());

/**
 * Runs rakit with stdout into a pipe (a FIFO, as a shell's `|` makes: it holds 64 KiB) read
 * 16 KiB at a time, 10 ms apart; resolves with all it read and the exit code.
 */
async function readSlowly(args: string[]): Promise<{ out: string; code: number | null }> {
  const fifo = path.join(app.dir, 'storage', `pipe-${fifos++}`);
  execFileSync('mkfifo', [fifo]);
  const child = spawn('sh', ['-c', 'exec "$0" "$@" > "$FIFO"', process.execPath, BIN, ...args], { cwd: app.dir, env: { ...app.env, FIFO: fifo }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(fifo, { highWaterMark: 16_384 })) {
    chunks.push(chunk as Buffer);
    await sleep(10); // a slow reader is what this checks: time on purpose
  }
  return { out: Buffer.concat(chunks).toString(), code: await exited };
}
let fifos = 0;

/** The same command with stdout into a file, all at once. */
function intoFile(args: string[]): Promise<string> {
  const file = path.join(app.dir, 'storage', 'out.txt');
  const fd = openSync(file, 'w');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: app.dir, env: app.env, stdio: ['ignore', fd, 'ignore'] });
    child.on('exit', () => {
      closeSync(fd);
      resolve(readFileSync(file, 'utf8'));
    });
  });
}

describe('output into a slow pipe', () => {
  it('job:failed --json writes several MB whole: the reader parses every failed job', async () => {
    const { out, code } = await readSlowly(['job:failed', '--json']);
    expect(code).toBe(0);
    expect(out.length).toBeGreaterThan(3_000_000);
    const failed = JSON.parse(out) as { payload: unknown }[];
    expect(failed).toHaveLength(FAILED);
  });

  it('plain job:failed writes into the pipe what it writes into a file', async () => {
    const whole = await intoFile(['job:failed']);
    expect(whole.length).toBeGreaterThan(65_536);
    const { out, code } = await readSlowly(['job:failed']);
    expect(code).toBe(0);
    expect(out).toBe(whole);
  });
});
