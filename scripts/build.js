// Builds dist/ from src/ with esbuild: plain JavaScript, so the rakit binary starts without a
// TypeScript loader (an empty cron run pays only for Node and the modules it uses). dist/ is a
// cache of src/ and the packages bundled with it: dist/.source holds a hash of the sources and of
// npm's record of the installed packages it was built from (and their sizes and
// mtimes, so an unchanged tree is recognised without reading it), and ensureBuilt() rebuilds
// when they differ. Files are written beside and renamed into place one by one (chunk names
// carry a content hash), so processes that start while another one builds never read a
// half-written file. `node scripts/build.js` builds when needed.
//
// `node scripts/build.js --package` (npm's `prepack`) makes what the published package ships:
// dist/ without the chunks of earlier builds, and the declaration files in dist/types/. Each
// build makes dist/index.cjs too, the CommonJS build of the public API (`require('rakit')`). An installed package has
// no src/ and never builds: the binary runs dist/ as it was packed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.source');
// dist/index.js is the public API (src/index.ts) as src/esm-index.ts offers it to the CommonJS build.
const ENTRIES = [{ in: 'src/bin.ts', out: 'bin' }, { in: 'src/esm-index.ts', out: 'index' }];
const SELF = fileURLToPath(import.meta.url);
const TYPES = path.join(DIST, 'types');

/**
 * Packages are bundled into dist/: resolving and reading the hundreds of small files of knex,
 * lodash and the rest took an empty cron run about 30 ms. These stay installed files:
 * - native or loader packages (better-sqlite3, esbuild, tsx), and pino, whose transports run
 *   its files in worker threads;
 * - the store clients (mysql2, pg, ioredis, memcache-client): optional peer dependencies the app
 *   installs for the store it uses (src/drivers/store-clients.ts), so never in the bundle;
 *   and pino-pretty, loaded only for a terminal: bundled, its code would be parsed by every run;
 * - knex's dialects for databases rakit does not support, for the same reason;
 * - packages our code imports with `import()`: loaded only when needed anyway, and a bundled
 *   CommonJS package imported that way would lose its named exports (`SingleBar`);
 * - optional packages that are not installed (knex's other clients): a require that fails at
 *   run time, as it did before.
 */
const INSTALLED = new Set(['better-sqlite3', 'esbuild', 'tsx', 'pino', 'pino-pretty', 'mysql2', 'pg', 'ioredis', 'memcache-client']);
const KNEX_DIALECTS = new Set(['better-sqlite3', 'sqlite3', 'mysql', 'mysql2', 'postgres']);
const packagesInBundle = {
  name: 'packages-in-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\/[a-z0-9]+$/ }, (args) => {
      const dialects = /node_modules\/knex\/lib\/dialects$/.test(args.resolveDir);
      const name = args.path.slice(2);
      if (dialects && !KNEX_DIALECTS.has(name)) return { path: `knex/lib/dialects/${name}/index.js`, external: true };
      return undefined;
    });
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'resolving') return undefined;
      const name = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
      if (args.path.startsWith('node:') || INSTALLED.has(name) || args.kind === 'dynamic-import') return { path: args.path, external: true };
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
      return resolved.errors.length > 0 ? { path: args.path, external: true } : resolved;
    });
  },
};

/**
 * npm's record of what it installed (an update of a bundled package changes it): in our own
 * node_modules in a checkout, in the app's when rakit is installed there as a package.
 */
const INSTALLED_RECORD = [path.join(ROOT, 'node_modules'), path.dirname(ROOT)]
  .filter((dir) => path.basename(dir) === 'node_modules')
  .map((dir) => path.join(dir, '.package-lock.json'))
  .find((file) => existsSync(file));

/** This file, every source file and the installed packages' record, in a stable order. */
function sourceFiles() {
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  return [SELF, ...files, ...(INSTALLED_RECORD ? [INSTALLED_RECORD] : [])];
}

/** Paths, sizes and mtimes: equal to the stamp's when nothing was touched since the build. */
function statsOf(files) {
  return files.map((file) => {
    const stat = statSync(file);
    return `${path.relative(ROOT, file)} ${stat.size} ${stat.mtimeMs}`;
  }).join('\n');
}

/** A hash of the paths and contents (a checkout or an unpacked package gives files new mtimes). */
async function hashOf(files) {
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha1');
  for (const file of files) hash.update(path.relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return null;
  }
}

function writeStamp(stamp, dir) {
  const temporary = path.join(dir, `.source.${process.pid}`);
  writeFileSync(temporary, JSON.stringify(stamp));
  renameSync(temporary, STAMP);
}

/** Builds dist/ unless it was built from these sources. A package without src/ ships dist/ as it is. */
export async function ensureBuilt() {
  if (!existsSync(SRC)) return;
  const files = sourceFiles();
  const stats = statsOf(files);
  const stamp = readStamp();
  if (stamp?.stats === stats) return;
  const hash = await hashOf(files);
  if (stamp?.hash === hash) {
    try {
      writeStamp({ ...stamp, hash, stats }, DIST); // next time, the sizes and mtimes are enough
    } catch {
      // a read-only install: hash again next time
    }
    return;
  }
  const { build } = await import('esbuild');
  mkdirSync(DIST, { recursive: true });
  const staging = mkdtempSync(path.join(DIST, '.build-'));
  try {
    await build({
      absWorkingDir: ROOT,
      entryPoints: ENTRIES,
      outdir: staging,
      outbase: 'src',
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      plugins: [packagesInBundle],
      // Bundled CommonJS packages reach their own externals (database clients) through require.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      sourcemap: true,
      logLevel: 'error',
    });
    await buildCommonJs(staging);
    // Chunks first, entry points last: an entry never names a chunk that is not there yet.
    const entries = new Set(ENTRIES.map((e) => `${e.out}.js`));
    const built = readdirSync(staging).sort((a, b) => Number(entries.has(a.replace(/\.map$/, ''))) - Number(entries.has(b.replace(/\.map$/, ''))));
    for (const file of built) renameSync(path.join(staging, file), path.join(DIST, file));
    // Chunks and lazy modules of earlier builds (their names carry a hash): a process started a
    // day ago has long loaded the ones it uses.
    for (const file of readdirSync(DIST)) {
      const full = path.join(DIST, file);
      if (/-[A-Z0-9]{8}\.js(\.map)?$/.test(file) && !built.includes(file) && Date.now() - statSync(full).mtimeMs > 86_400_000) rmSync(full, { force: true });
    }
    writeStamp({ hash, stats, files: built }, staging);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * The CommonJS build of the public API. One process has one rakit: when the binary (ES modules)
 * has loaded the API already, `require('rakit')` in the app's CommonJS files returns that one
 * (bin-loader.ts puts it on globalThis), so their jobs, listeners and dispatches share its
 * configuration and connections.
 */
async function buildCommonJs(outdir) {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/index.ts'],
    outfile: path.join(outdir, 'index.cjs'),
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: [packagesInBundle],
    define: { 'import.meta.url': '__rakit_import_meta_url' },
    banner: { js: "const __rakit_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
    footer: { js: "module.exports = globalThis[Symbol.for('rakit.api')] ?? module.exports;" },
    logLevel: 'error',
  });
}

/** Declaration files of the public API (tsconfig.build.json), in dist/types/. */
async function buildTypes() {
  const { spawnSync } = await import('node:child_process');
  rmSync(TYPES, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${result.status})`);
  // The sources import each other as `./x.ts`; the declarations sit beside no .ts file.
  for (const entry of readdirSync(TYPES, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/(['"])(\.\.?\/[^'"]+)\.ts\1/g, '$1$2.js$1'));
  }
}

/** What the package ships: the current build only, and its types. */
export async function buildPackage() {
  if (!Array.isArray(readStamp()?.files)) rmSync(STAMP, { force: true }); // built before stamps listed their files
  await ensureBuilt();
  const { files } = readStamp();
  for (const file of readdirSync(DIST)) {
    if (/\.js(\.map)?$/.test(file) && !files.includes(file)) rmSync(path.join(DIST, file), { force: true });
  }
  await buildTypes();
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  await (process.argv.includes('--package') ? buildPackage() : ensureBuilt());
}
