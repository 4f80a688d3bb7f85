/**
 * The rakit binary's entry, built to dist/bin.js: the CLI, importing the app's files the
 * binary's way (core/bin-loader.ts).
 */
import { useAppFiles } from './core/app-files.ts';
import { binAppFiles } from './core/bin-loader.ts';

useAppFiles(binAppFiles);

export { main } from './cli.ts';
