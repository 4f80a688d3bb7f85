/**
 * How the rakit binary, which runs as plain JavaScript (dist/), imports the app's files:
 * - a TypeScript configuration is imported from its cached bundle (app-bundle.ts): a cron run
 *   on an empty queue loads no TypeScript tooling at all; where the cache cannot be written (a
 *   read-only app), the config loads the way job classes do. A JavaScript one is imported as it is.
 * - TypeScript job classes, listeners and migrations are imported after tsx's loader is
 *   registered, once, before the first of them; JavaScript ones as they are. A worker process
 *   imports the job files and events that are ES modules from their cached bundle instead.
 * - the public API this process runs is on globalThis, where the CommonJS build of rakit
 *   (`require('rakit')` in a CommonJS app) finds it: one rakit per process.
 */
import { pathToFileURL } from 'node:url';
import { bundledConfig, bundledModules } from './app-bundle.ts';
import { isEsmPackage, type AppFiles } from './app-files.ts';

/** The public API this process runs: the app's config and jobs must share its modules. */
const API = new URL('./index.js', import.meta.url).href;

let api: Promise<unknown> | null = null;

/** Loads this build's public API and offers it to the app's `require('rakit')`, once. */
function shareApi(): Promise<unknown> {
  api ??= import(API).then((namespace: unknown) => {
    (globalThis as Record<symbol, unknown>)[Symbol.for('rakit.api')] ??= namespace;
  });
  return api;
}

let tsx: Promise<void> | null = null;

/**
 * Imports a file of the app through tsx. In a CommonJS app (`"type": "commonjs"`, what
 * `npm init` writes) tsx compiles TypeScript to CommonJS, which Node loads with require(): tsx's
 * CommonJS hook must be there too (without it the file was required as an ES module, inside
 * the import of itself), and the file's exports then arrive as the namespace's default.
 */
async function importWithTsx(file: string): Promise<Record<string, unknown>> {
  tsx ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api'), shareApi()]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  await tsx;
  const namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const compiled = namespace.default as { __esModule?: unknown } | null | undefined;
  return compiled && typeof compiled === 'object' && compiled.__esModule ? (compiled as Record<string, unknown>) : namespace;
}

export const binAppFiles: AppFiles = {
  async importConfig(file, root) {
    await shareApi();
    if (!/\.[cm]?ts$/.test(file)) return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const bundled = await bundledConfig(file, root, API);
    return bundled ? ((await import(pathToFileURL(bundled).href)) as Record<string, unknown>) : importWithTsx(file);
  },
  importModule: (file) => (/\.[cm]?ts$/.test(file) ? importWithTsx(file) : importAsIs(file)),
};

async function importAsIs(file: string): Promise<Record<string, unknown>> {
  await shareApi();
  return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
}

/** Files of the app's ES modules (package.json's "type": "module", or .mts / .mjs): these bundle as they import. */
const esModule = (file: string, esmApp: boolean) => /\.m[jt]s$/.test(file) || (esmApp && /\.[jt]s$/.test(file));

/**
 * A worker process's way: the job files and events that are ES modules come from one cached
 * bundle (app-bundle.ts), imported without a TypeScript loader; others as the binary imports them.
 */
export function workerAppFiles(): AppFiles {
  let bundled = new Map<string, string>();
  return {
    importConfig: binAppFiles.importConfig,
    async prepareModules(files, root) {
      const esm = files.filter((file) => esModule(file, isEsmPackage(root)));
      bundled = (esm.length > 0 ? await bundledModules(esm, root, API) : null) ?? new Map();
      if (bundled.size > 0) process.setSourceMapsEnabled(true);
    },
    importModule(file) {
      const out = bundled.get(file);
      return out ? importAsIs(out) : binAppFiles.importModule(file);
    },
  };
}
