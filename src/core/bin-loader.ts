/**
 * How the rakit binary, which runs as plain JavaScript (dist/), imports the app's files:
 * - a TypeScript configuration is bundled by esbuild (local imports inlined, packages left as imports of
 *   the files they resolve to, `rakit` pointed at this very build) into the app's
 *   storage/cache/: one bundle per config file (named by a hash of its real path), reused while
 *   every file it was built from has the same content. A cron run on an empty queue loads no
 *   TypeScript tooling at all; where the cache cannot be written (a read-only app), the config
 *   loads the way job classes do. Nothing is written into node_modules. A JavaScript one is
 *   imported as it is.
 * - job classes, listeners and migrations are imported after tsx's loader is registered, once,
 *   before the first of them.
 * - the public API this process runs is on globalThis, where the CommonJS build of rakit
 *   (`require('rakit')` in a CommonJS app) finds it: one rakit per process.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppFiles } from './app-files.ts';

/** The public API this process runs: the app's config and jobs must share its modules. */
const API = new URL('./index.js', import.meta.url).href;
/** Stands for `import.meta.url` in the bundled config: each file keeps its own. */
const META_URL = '__rakit_import_meta_url';
/** Where the cached bundles live, under the app's folder. */
export const CONFIG_CACHE_DIR = path.join('storage', 'cache');

type Inputs = [file: string, sha1: string][];

const sha1 = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');

function unchanged(inputs: Inputs): boolean {
  try {
    return inputs.every(([file, hash]) => sha1(readFileSync(file)) === hash);
  } catch {
    return false;
  }
}

function readInputs(manifest: string): Inputs | null {
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { api?: string; inputs?: Inputs };
    return parsed.api === API && Array.isArray(parsed.inputs) ? parsed.inputs : null;
  } catch {
    return null;
  }
}

/** Writes through a temporary name, so a process starting meanwhile reads the old file or the new one. */
function writeAtomically(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

async function bundleConfig(file: string, out: string, manifest: string): Promise<void> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    define: { 'import.meta.url': META_URL },
    plugins: [{
      name: 'rakit-config',
      setup(build) {
        build.onResolve({ filter: /^rakit$/ }, () => ({ path: API, external: true }));
        // A package stays an import, of the file it resolves to from the config's folder: the
        // bundle lives elsewhere (and storage/ may be a link to a folder shared by releases).
        build.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.pluginData === 'resolving' || args.path.startsWith('node:')) return undefined;
          const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
          if (resolved.errors.length > 0 || resolved.external) return { path: args.path, external: true };
          return { path: pathToFileURL(resolved.path).href, external: true };
        });
        build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => ({
          contents: `const ${META_URL} = ${JSON.stringify(pathToFileURL(args.path).href)};\n${readFileSync(args.path, 'utf8')}`,
          loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js',
        }));
      },
    }],
  });
  const inputs: Inputs = Object.keys(result.metafile.inputs).map((input) => {
    const absolute = path.resolve(input);
    return [absolute, sha1(readFileSync(absolute))];
  });
  writeAtomically(out, result.outputFiles[0]!.text);
  writeAtomically(manifest, JSON.stringify({ api: API, inputs }));
}

/** The bundled config, built when missing or out of date; null when it cannot be built or written. */
async function bundledConfig(file: string, root: string): Promise<string | null> {
  try {
    const dir = path.join(root, CONFIG_CACHE_DIR);
    const out = path.join(dir, `rakit-config-${sha1(realpathSync(file)).slice(0, 16)}.mjs`);
    const manifest = `${out}.json`;
    const inputs = readInputs(manifest);
    if (inputs && unchanged(inputs)) return out;
    mkdirSync(dir, { recursive: true });
    await bundleConfig(file, out, manifest);
    return out;
  } catch {
    return null; // a mistake in the config is reported by the import below, with tsx's message
  }
}

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
    const bundled = await bundledConfig(file, root);
    return bundled ? ((await import(pathToFileURL(bundled).href)) as Record<string, unknown>) : importWithTsx(file);
  },
  importModule: importWithTsx,
};
