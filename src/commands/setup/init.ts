/**
 * `rakit init`: scaffolds rakit jobs in the app of this folder from templates/init/<language>/,
 * in the app's language (core/app-files.ts), and the job tables migration as job:table writes it.
 * What exists is left alone.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { appLanguage, type AppLanguage } from '../../infra/app-files.ts';
import { CONFIG_CANDIDATES } from '../../infra/config.ts';
import { STORE_CLIENTS, hasClient, installCommand, storeOf, type ClientStore } from '../../drivers/store-clients.ts';
import { MIGRATIONS_DIR, jobTablesMigration, jobTablesMigrationName } from '../../drivers/database/migrations.ts';

/** templates/init/<language>/, found above this module (src/commands/ in a checkout, dist/ in the package). */
function templates(language: AppLanguage): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'templates', 'init', language);
    if (existsSync(candidate)) return candidate;
    if (dir === path.dirname(dir)) throw new Error(`templates/init/${language} is missing from the rakit package`);
  }
}

/** Every file under `dir`, relative to it, in a stable order. */
const filesUnder = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();

export function initCommand(): Command {
  return new Command('init')
    .description('scaffold rakit jobs in this app: config, an example job, events and schedule files, migrations/, storage/ (never overwrites)')
    .action(() => {
      const root = process.cwd();
      const existingConfig = CONFIG_CANDIDATES.find((c) => existsSync(path.join(root, c)));
      const language = appLanguage(root, existingConfig);
      const created: string[] = [];
      const kept: string[] = [];
      const source = templates(language);
      for (const file of filesUnder(source)) {
        const isConfig = file.startsWith(path.join('application', 'config') + path.sep);
        const present = existsSync(path.join(root, file)) || (isConfig && existingConfig);
        if (present) kept.push(isConfig && existingConfig ? existingConfig : file);
        else {
          mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
          cpSync(path.join(source, file), path.join(root, file), { errorOnExist: true, force: false });
          created.push(file);
        }
      }
      const migrations = path.join(root, MIGRATIONS_DIR);
      const migration = existsSync(migrations) ? readdirSync(migrations).find((f) => /_create_rakit_jobs_table\./.test(f)) : undefined;
      if (migration) kept.push(path.join(MIGRATIONS_DIR, migration));
      else if (existingConfig) console.log(`${existingConfig} exists: run "npx rakit job:table" for the migration of its tables.`);
      else {
        const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
        mkdirSync(migrations, { recursive: true });
        const name = jobTablesMigrationName('rakit_jobs', stamp, language);
        writeFileSync(path.join(migrations, name), jobTablesMigration('rakit_jobs', 'rakit_failed_jobs', language), { flag: 'wx' });
        created.push(path.join(MIGRATIONS_DIR, name));
      }
      if (existsSync(path.join(root, 'storage'))) kept.push('storage/');
      else {
        mkdirSync(path.join(root, 'storage'));
        created.push('storage/');
      }
      const kind = { ts: 'TypeScript', esm: 'JavaScript (ES modules)', cjs: 'JavaScript (CommonJS)' }[language];
      console.log(`rakit init: a ${kind} app`);
      for (const file of created) console.log(`  created ${file}`);
      for (const file of kept) console.log(`  left alone ${file} (it exists)`);
      console.log(storeAdvice(process.env));
      console.log('Next:');
      console.log('  npx rakit migrate                       # creates the job tables (SQLite: storage/database.sqlite)');
      console.log(`  npx rakit job:dispatch send-welcome-email --payload '{"to":"ada@example.com"}'`);
      console.log('  npx rakit job:runall --stop-when-empty  # runs what is due, then exits');
    });
}

/** Which client package the store chosen by the environment (or the SQLite default) needs. */
function storeAdvice(env: NodeJS.ProcessEnv): string {
  const store = storeOf(env.JOB_DRIVER, env.DATABASE_URL);
  if (!store) {
    const others = (Object.keys(STORE_CLIENTS) as ClientStore[]).map((name) => `${name}: ${installCommand(name)}`).join(', ');
    return `Store: ${env.JOB_DRIVER === 'file' ? 'the file store' : 'SQLite'}, built in: nothing more to install (another store needs its client: ${others})`;
  }
  const client = STORE_CLIENTS[store];
  return `Store: ${store}, which needs the ${client} package: ${hasClient(store) ? 'installed' : `run ${installCommand(store)}`}`;
}
