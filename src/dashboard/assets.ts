/**
 * The files the dashboard's pages load (its stylesheet), shipped in the package's assets/
 * folder and read once: no CDN, so an installed package works offline.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

/** assets/dashboard/, found above this module (src/dashboard/ in a checkout, dist/ in the package). */
function assetsDir(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'assets', 'dashboard');
    if (existsSync(candidate)) return candidate;
    if (dir === path.dirname(dir)) throw new Error('assets/dashboard is missing from the rakit package');
  }
}

const cache = new Map<string, { body: string; type: string }>();

/** An asset by file name (`dashboard.css`), or null when there is no such asset. */
export function asset(name: string): { body: string; type: string } | null {
  const type = TYPES[path.extname(name)];
  if (!type || name !== path.basename(name)) return null;
  let found = cache.get(name);
  if (!found) {
    const file = path.join(assetsDir(), name);
    if (!existsSync(file)) return null;
    found = { body: readFileSync(file, 'utf8'), type };
    cache.set(name, found);
  }
  return found;
}
