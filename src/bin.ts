/**
 * The rakit binary's entry, built to dist/bin.js: the CLI, importing the app's files the
 * binary's way (infra/bin-loader.ts).
 */
import { useAppFiles } from './infra/app-files.ts';
import { binAppFiles, workerAppFiles } from './infra/bin-loader.ts';
import { WORKER_ARG } from './manager/ipc.ts';

useAppFiles(process.argv[2] === WORKER_ARG ? workerAppFiles() : binAppFiles);

export { main } from './cli.ts';
