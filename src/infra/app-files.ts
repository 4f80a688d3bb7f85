/**
 * How the app's own files are imported: its configuration, job classes, event listeners and
 * migrations, any of which may be TypeScript. By default they are imported as they are, which
 * suits a host that already runs TypeScript (an app under tsx, vitest) or an app of plain
 * JavaScript. The rakit binary runs as plain JavaScript and installs its own way (bin-loader.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The language of an app's files: TypeScript, JavaScript as ES modules, or CommonJS. */
export type AppLanguage = 'ts' | 'esm' | 'cjs';

/** The extensions an app file may have, in the order they are looked for. */
const APP_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** The names app file `base` (`application/config/job`) may have: `job.ts` … `job.cjs`. */
export function appFileCandidates(base: string): string[] {
  return APP_EXTENSIONS.map((extension) => `${base}${extension}`);
}

/** The path of app file `base` in the app in `root`, the first of its candidates that exists. */
export function findAppFile(root: string, base: string): string | undefined {
  return appFileCandidates(base).map((f) => path.join(root, f)).find((f) => existsSync(f));
}

/** The extension of a new file the app will import, in each language. */
export const SOURCE_EXTENSION: Record<AppLanguage, string> = { ts: '.ts', esm: '.js', cjs: '.cjs' };

/**
 * The language of the app in `root`: that of its configuration file when there is one (`job.ts`,
 * `job.mjs`, `job.cjs`; `job.js` by package.json's "type"), else TypeScript where tsconfig.json
 * is, else JavaScript in the module system of package.json's "type" (CommonJS without one, as
 * Node reads it).
 */
export function appLanguage(root: string, configFile?: string): AppLanguage {
  const extension = configFile ? path.extname(configFile) : '';
  if (/^\.[cm]?ts$/.test(extension)) return 'ts';
  if (extension === '.mjs') return 'esm';
  if (extension === '.cjs') return 'cjs';
  if (!configFile && existsSync(path.join(root, 'tsconfig.json'))) return 'ts';
  return isEsmPackage(root) ? 'esm' : 'cjs';
}

/** Whether the app's package.json says `"type": "module"` (its .js and .ts files are ES modules). */
export function isEsmPackage(root: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { type?: unknown }).type === 'module';
  } catch {
    return false;
  }
}

export interface AppFiles {
  /** The exports of the configuration module `file` of the app in `root`. */
  importConfig(file: string, root: string): Promise<Record<string, unknown>>;
  /** A job, events or migration module's exports. */
  importModule(file: string): Promise<Record<string, unknown>>;
  /** Told the job and events modules of the app in `root` before the first of them is imported. */
  prepareModules?(files: readonly string[], root: string): Promise<void>;
}

/**
 * The module system's own `require` where rakit runs as CommonJS (dist/index.cjs, `require('rakit')`,
 * whose modules all have its URL); undefined in an ES module. A host may give that build a `require` of its own and no `import()`:
 * jest without --experimental-vm-modules does.
 */
const cjsRequire: ((id: string) => unknown) | undefined = import.meta.url.endsWith('.cjs') ? require : undefined;

/** A CommonJS file of the app: `.cjs`, or `.js` where the nearest package.json has no `"type": "module"`. */
function isCommonJs(file: string): boolean {
  const extension = path.extname(file);
  if (extension !== '.js') return extension === '.cjs';
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return !isEsmPackage(dir);
    if (path.dirname(dir) === dir) return true;
  }
}

/**
 * A file imported as it is. In the CommonJS build a CommonJS file is required, as `import()`
 * would load it, its exports then seen as `import()` sees them (`default` and their names).
 */
function asIs(file: string): Promise<Record<string, unknown>> {
  if (cjsRequire && isCommonJs(file)) {
    const exports = cjsRequire(file);
    const named = exports !== null && typeof exports === 'object' ? (exports as Record<string, unknown>) : {};
    return Promise.resolve({ ...named, default: exports });
  }
  return import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
}

let current: AppFiles = { importConfig: asIs, importModule: asIs };

export function useAppFiles(files: AppFiles): void {
  current = files;
}

export const importConfig = (file: string, root: string) => current.importConfig(file, root);
export const importModule = (file: string) => current.importModule(file);
export const prepareModules = async (files: readonly string[], root: string) => current.prepareModules?.(files, root);
