/**
 * The chart assets the dashboard serves itself (no CDN): uPlot's script and stylesheet, read from
 * the installed `uplot` package, and the chart script and styles of the Overview, which ship in
 * the package under assets/dashboard/ (found above this module: src/dashboard/metrics/ in a
 * checkout, dist/ in the package). Each file is read once, on its first request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** assets/dashboard/<file> of the package. */
function shipped(file: string): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'assets', 'dashboard', file);
    if (existsSync(candidate)) return candidate;
    if (dir === path.dirname(dir)) throw new Error(`assets/dashboard/${file} is missing from the rakit package`);
  }
}

const uplot = (file: string) => () => createRequire(import.meta.url).resolve(`uplot/dist/${file}`);

/** The served name (under /assets/) of each chart asset, with where it is and its content type. */
const ASSETS: Record<string, { locate: () => string; type: string }> = {
  'uplot.min.js': { locate: uplot('uPlot.iife.min.js'), type: JS },
  'uplot.min.css': { locate: uplot('uPlot.min.css'), type: CSS },
  'charts.js': { locate: () => shipped('charts.js'), type: JS },
  'charts.css': { locate: () => shipped('charts.css'), type: CSS },
  // The stylesheet of every dashboard page.
  'dashboard.css': { locate: () => shipped('dashboard.css'), type: CSS },
};

/** The names served under /assets/. */
export const CHART_ASSETS = Object.keys(ASSETS);

const loaded = new Map<string, { body: string; type: string }>();

/** A chart asset's text and content type, or null for a name that is not one. */
export function chartAsset(name: string): { body: string; type: string } | null {
  const asset = ASSETS[name];
  if (!asset) return null;
  let file = loaded.get(name);
  if (!file) {
    file = { body: readFileSync(asset.locate(), 'utf8'), type: asset.type };
    loaded.set(name, file);
  }
  return file;
}
