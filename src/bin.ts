/**
 * The rakit binary's entry, built to dist/bin.js: the CLI, importing the app's files the
 * binary's way (core/bin-loader.ts).
 */
import { useAppFiles } from './core/app-files.ts';
import { binAppFiles, workerAppFiles } from './core/bin-loader.ts';
import { WORKER_ARG } from './core/ipc.ts';

useAppFiles(process.argv[2] === WORKER_ARG ? workerAppFiles() : binAppFiles);

export { main } from './cli.ts';
