import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { appLanguage, type AppLanguage } from '../../infra/app-files.ts';
import { CONFIG_CANDIDATES } from '../../infra/config.ts';
import { kebabCase } from '../../infra/naming.ts';

/** The job file's extension in each app language (as `rakit init` writes them). */
const EXTENSION: Record<AppLanguage, string> = { ts: '.ts', esm: '.js', cjs: '.cjs' };

/** Names the template's own code uses or that every module sees: a class of that name breaks it. */
const RESERVED = new Set(['Jobable', 'Job', 'Event', 'PendingDispatch']);

/** `Admin/SendReport` → folders ['Admin'] and class `SendReport`; each part PascalCase, the class not reserved. */
export function jobClassPath(value: string): string {
  const parts = value.replace(/\.[cm]?[jt]s$/, '').split('/');
  if (parts.some((part) => !/^[A-Z][A-Za-z0-9]*$/.test(part))) {
    throw new InvalidArgumentError('use a PascalCase class name, e.g. SendInvoice, or Admin/SendReport for a subfolder');
  }
  const name = parts.at(-1)!;
  if (RESERVED.has(name) || name in globalThis) {
    throw new InvalidArgumentError(`"${name}" is taken (${RESERVED.has(name) ? 'by rakit' : 'by a JavaScript global'}): choose another class name, e.g. ${name}Job`);
  }
  return parts.join('/');
}

export function makeJobCommand(): Command {
  return new Command('make:job')
    .description("write application/jobs/<Name>.ts (.js, .cjs in a JavaScript app) from a template that declares timeout and tries")
    .argument('<Name>', 'class name in PascalCase, e.g. SendInvoice (Admin/SendReport for a subfolder)', jobClassPath)
    .action((classPath: string) => {
      const root = process.cwd();
      const language = appLanguage(root, CONFIG_CANDIDATES.find((c) => existsSync(path.join(root, c))));
      const relative = `application/jobs/${classPath}${EXTENSION[language]}`;
      const file = path.join(root, relative);
      const name = path.basename(classPath);
      if (existsSync(file)) {
        console.error(`${relative} already exists; choose another name.`);
        process.exitCode = 2;
        return;
      }
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, template(name, language), { flag: 'wx' });
      console.log(`Created ${relative} (job name "${kebabCase(name)}")`);
    });
}

/** A job class that declares timeout and tries, in the app's language. */
function template(name: string, language: AppLanguage): string {
  const typed = language === 'ts';
  const body = `class ${name} extends Jobable${typed ? '<{ id: number }>' : ''} {
  /** Seconds one attempt may run before it is stopped. */
  static timeout = 120;
  /** Total attempts, the first included. */
  static tries = 3;

  async run()${typed ? ': Promise<void>' : ''} {
    const id = this.get('id');
    // Do the work here. Pass this.signal to anything that can be cancelled.
    void id;
  }
}
`;
  if (language === 'cjs') return `const { Jobable } = require('rakit');\n\n${body}\nmodule.exports = ${name};\n`;
  return `import { Jobable } from 'rakit';\n\nexport default ${body}`;
}
