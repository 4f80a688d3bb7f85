/**
 * How the rakit binary, which runs as plain JavaScript (dist/), imports the app's files:
 * - the configuration is bundled by esbuild (local imports inlined, packages left as imports,
 *   `rakit` pointed at this very build) into node_modules/.cache/rakit/, and that bundle is
 *   reused while every file it was built from keeps its size and mtime: a cron run on an empty
 *   queue loads no TypeScript tooling at all (where the cache cannot be written, the config
 *   loads the way job classes do);
 * - job classes, listeners and migrations are imported after tsx's loader is registered, once,
 *   before the first of them.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppFiles } from './app-files.ts';

/** The public API this process runs: the app's config and jobs must share its modules. */
const API = new URL('./index.js', import.meta.url).href;
/** Stands for `import.meta.url` in the bundled config: each file keeps its own. */
const META_URL = '__rakit_import_meta_url';

type Inputs = [file: string, size: number, mtimeMs: number][];

function unchanged(inputs: Inputs): boolean {
  try {
    return inputs.every(([file, size, mtimeMs]) => {
      const stat = statSync(file);
      return stat.size === size && stat.mtimeMs === mtimeMs;
    });
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
    packages: 'external',
    logLevel: 'silent',
    define: { 'import.meta.url': META_URL },
    plugins: [{
      name: 'rakit-config',
      setup(build) {
        build.onResolve({ filter: /^rakit$/ }, () => ({ path: API, external: true }));
        build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => ({
          contents: `const ${META_URL} = ${JSON.stringify(pathToFileURL(args.path).href)};\n${readFileSync(args.path, 'utf8')}`,
          loader: /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js',
        }));
      },
    }],
  });
  const inputs: Inputs = Object.keys(result.metafile.inputs).map((input) => {
    const absolute = path.resolve(input);
    const stat = statSync(absolute);
    return [absolute, stat.size, stat.mtimeMs];
  });
  writeAtomically(out, result.outputFiles[0]!.text);
  writeAtomically(manifest, JSON.stringify({ api: API, inputs }));
}

/** The bundled config, built when missing or out of date; null when it cannot be built or written. */
async function bundledConfig(file: string, root: string): Promise<string | null> {
  const dir = path.join(root, 'node_modules', '.cache', 'rakit');
  const out = path.join(dir, `config-${path.basename(file)}.mjs`); // the cache is the app's own: one per config candidate
  const manifest = `${out}.json`;
  const inputs = readInputs(manifest);
  if (inputs && unchanged(inputs)) return out;
  try {
    mkdirSync(dir, { recursive: true });
    await bundleConfig(file, out, manifest);
    return out;
  } catch {
    return null; // a mistake in the config is reported by the import below, with tsx's message
  }
}

let tsx: Promise<void> | null = null;

/**
 * Imports a TypeScript file of the app through tsx. In a CommonJS app (`"type": "commonjs"`,
 * what `npm init` writes) tsx compiles it to CommonJS, which Node loads with require(): tsx's
 * CommonJS hook must be there too (without it the file was required as an ES module, inside
 * the import of itself), and the file's exports then arrive as the namespace's default.
 */
async function importWithTsx(file: string): Promise<Record<string, unknown>> {
  tsx ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
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
    const bundled = await bundledConfig(file, root);
    return bundled ? ((await import(pathToFileURL(bundled).href)) as Record<string, unknown>) : importWithTsx(file);
  },
  importModule: importWithTsx,
};
