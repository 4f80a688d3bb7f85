#!/usr/bin/env node
// The rakit binary: runs dist/ as plain JavaScript; the app's TypeScript files load through
// src/infra/bin-loader.ts. In a checkout (src/ beside dist/) dist/ is built by scripts/build.js and
// rebuilt here when src/ changed; an installed package runs the dist/ it was packed with and
// writes nothing into its own folder.

// A worker process forked by the manager (`__worker`, WORKER_ARG in src/manager/ipc.ts): signals
// belong to the manager, and a SIGTERM or Ctrl-C sent to the process group reaches this process
// too. It ignores them from its first line, so one that comes while it is still loading does not
// kill it before it can stop on the manager's word.
const worker = process.argv[2] === '__worker';
if (worker) for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => undefined);

// The manager has checked the build: its worker processes run the code it runs.
if (!worker) {
  const { existsSync } = await import('node:fs');
  const { URL, fileURLToPath } = await import('node:url');
  if (existsSync(fileURLToPath(new URL('../src/', import.meta.url)))) await (await import('../scripts/build.js')).ensureBuilt();
}
const { main } = await import('../dist/bin.js');
const code = await main(process.argv.slice(2));
// A pipe takes output at its reader's pace, and process.exit() drops what it has not taken yet
// (`job:failed --json | slow-reader` got 64 KiB): exit once stdout and stderr have handed it all over.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => {
  if (stream.destroyed || !stream.writable) return resolve();
  stream.once('error', resolve); // a reader that went away (EPIPE) takes nothing more
  stream.write('', resolve);
})));
process.exit(code);
