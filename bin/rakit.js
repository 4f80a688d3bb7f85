#!/usr/bin/env node
// The rakit binary: runs TypeScript job files with no build step (tsx), on the app in the working directory.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exit(await main(process.argv.slice(2)));
