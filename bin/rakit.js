#!/usr/bin/env node
// The rakit binary: runs TypeScript job files with no build step (tsx), on the app in the working directory.
import { register } from 'tsx/esm/api';

// A worker process forked by the manager (`__worker`, WORKER_ARG in src/core/ipc.ts): signals
// belong to the manager, and a SIGTERM or Ctrl-C sent to the process group reaches this process
// too. It ignores them from its first line, so one that comes while it is still loading does not
// kill it before it can stop on the manager's word.
if (process.argv[2] === '__worker') for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => undefined);

register();
const { main } = await import('../src/cli.ts');
process.exit(await main(process.argv.slice(2)));
