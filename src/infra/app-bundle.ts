/**
 * esbuild bundles of the app's files, cached in the app's storage/cache/ and reused while every
 * file they were built from has the same content: local imports inlined, packages left as
 * imports of the files they resolve to from the app's folders, `rakit` pointed at this very
 * build, and each file's `import.meta.url` its own.
 * - the configuration: one bundle per config file (named by a hash of its real path);
 * - the job files and application/events of a worker process, in one build: a module they share
 *   is one module (a chunk), as when they are imported one by one. A worker process starts every
 *   max_job jobs; importing them through tsx's loader (a thread of its own and a round trip to it
 *   for each import) was most of its start-up. Inline source maps keep stack traces on the
 *   app's own files.
 * Where the cache cannot be written (a read-only app) or a file does not build, the callers
 * import the files through tsx, whose message names the file at fault.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';

/** Where the cached bundles live, under the app's folder. */
export const CONFIG_CACHE_DIR = path.join('storage', 'cache');
/** Stands for `import.meta.url` in a bundle: each file keeps its own. */
const META_URL = '__rakit_import_meta_url';
/** Outputs of an earlier build of the job files older than this are deleted by the next build. */
const STALE_MS = 60_000;

type Inputs = [file: string, sha1: string][];

const sha1 = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');

function unchanged(inputs: Inputs): boolean {
  try {
    return inputs.every(([file, hash]) => sha1(readFileSync(file)) === hash);
  } catch {
    return false;
  }
}

/** The manifest of a bundle built against the public API `api`, or null. */
function readManifest<T extends { inputs: Inputs }>(manifest: string, api: string): T | null {
  try {
    const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as T & { api?: string };
    return parsed.api === api && Array.isArray(parsed.inputs) ? parsed : null;
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

function appPlugin(api: string): Plugin {
  return {
    name: 'rakit-app',
    setup(build) {
      build.onResolve({ filter: /^rakit$/ }, () => ({ path: api, external: true }));
      // A package stays an import, of the file it resolves to from the importing file's folder: the
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
  };
}

async function build(options: BuildOptions, api: string) {
  const esbuild = await import('esbuild');
  return esbuild.build({
    // keepNames: a class keeps its own name (a job's name comes from it), even where two files' names clash.
    ...options, bundle: true, write: false, metafile: true, format: 'esm', platform: 'node', target: 'node20', keepNames: true,
    logLevel: 'silent', define: { 'import.meta.url': META_URL }, plugins: [appPlugin(api)],
  });
}

function inputsOf(metafile: { inputs: Record<string, unknown> }, dir: string): Inputs {
  return Object.keys(metafile.inputs).map((input) => {
    const absolute = path.resolve(dir, input);
    return [absolute, sha1(readFileSync(absolute))];
  });
}

/** BUILD: changes when the way bundles are built changes, so no earlier build is reused. */
const BUILD = 'keep-names';
const cacheName = (file: string) => sha1(`${BUILD}:${realpathSync(file)}`).slice(0, 16);

/** The bundled config, built when missing or out of date; null when it cannot be built or written. */
export async function bundledConfig(file: string, root: string, api: string): Promise<string | null> {
  try {
    const dir = path.join(root, CONFIG_CACHE_DIR);
    const out = path.join(dir, `rakit-config-${cacheName(file)}.mjs`);
    const manifest = `${out}.json`;
    const cached = readManifest(manifest, api);
    if (cached && unchanged(cached.inputs)) return out;
    mkdirSync(dir, { recursive: true });
    const result = await build({ entryPoints: [file] }, api);
    const inputs = inputsOf(result.metafile, process.cwd());
    writeAtomically(out, result.outputFiles[0]!.text);
    writeAtomically(manifest, JSON.stringify({ api, inputs }));
    return out;
  } catch {
    return null; // a mistake in the config is reported by the import below, with tsx's message
  }
}

interface JobsManifest {
  inputs: Inputs;
  /** Each bundled file, with its output's name in the bundle's folder. */
  entries: [file: string, output: string][];
}

/** Each of `files` with its bundled module (a path), built when missing or out of date; null when they cannot be built or written. */
export async function bundledModules(files: readonly string[], root: string, api: string): Promise<Map<string, string> | null> {
  try {
    const name = `rakit-jobs-${cacheName(root)}`;
    const dir = path.join(root, CONFIG_CACHE_DIR, name);
    const manifest = path.join(root, CONFIG_CACHE_DIR, `${name}.json`);
    const wanted = [...files].sort();
    const cached = readManifest<JobsManifest>(manifest, api);
    const same = cached && cached.entries.length === wanted.length && cached.entries.every(([file], i) => file === wanted[i]);
    if (same && unchanged(cached.inputs)) return new Map(cached.entries.map(([file, output]) => [file, path.join(dir, output)]));
    mkdirSync(dir, { recursive: true });
    const result = await build({
      entryPoints: wanted, absWorkingDir: root, outdir: dir, splitting: true, sourcemap: 'inline', sourcesContent: false,
      entryNames: '[name]-[hash]', chunkNames: 'chunk-[hash]', outExtension: { '.js': '.mjs' },
    }, api);
    const entries: [string, string][] = [];
    for (const [output, meta] of Object.entries(result.metafile.outputs)) {
      if (meta.entryPoint) entries.push([path.resolve(root, meta.entryPoint), path.basename(output)]);
    }
    entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    if (entries.length !== wanted.length || entries.some(([file], i) => file !== wanted[i])) return null;
    const written = new Set<string>();
    for (const output of result.outputFiles) {
      written.add(path.basename(output.path));
      writeAtomically(output.path, output.text);
    }
    writeAtomically(manifest, JSON.stringify({ api, inputs: inputsOf(result.metafile, root), entries }));
    removeStale(dir, written);
    return new Map(entries.map(([file, output]) => [file, path.join(dir, output)]));
  } catch {
    return null;
  }
}

/** Outputs of earlier builds, once no process can still be about to import them. */
function removeStale(dir: string, keep: Set<string>): void {
  const now = Date.now();
  for (const file of readdirSync(dir)) {
    if (keep.has(file)) continue;
    const full = path.join(dir, file);
    if (now - statSync(full).mtimeMs > STALE_MS) rmSync(full, { force: true });
  }
}
