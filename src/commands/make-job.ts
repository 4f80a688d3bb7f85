import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { kebabCase } from '../core/naming.ts';

/** Names the template's own code uses or that every module sees: a class of that name breaks it. */
const RESERVED = new Set(['Jobable', 'Job', 'Event', 'PendingDispatch']);

/** `Admin/SendReport` → folders ['Admin'] and class `SendReport`; each part PascalCase, the class not reserved. */
export function jobClassPath(value: string): string {
  const parts = value.replace(/\.ts$/, '').split('/');
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
    .description('write application/jobs/<Name>.ts from a template that declares timeout and tries')
    .argument('<Name>', 'class name in PascalCase, e.g. SendInvoice (Admin/SendReport for a subfolder)', jobClassPath)
    .action((classPath: string) => {
      const relative = `application/jobs/${classPath}.ts`;
      const file = path.join(process.cwd(), relative);
      const name = path.basename(classPath);
      if (existsSync(file)) {
        console.error(`${relative} already exists; choose another name.`);
        process.exitCode = 1;
        return;
      }
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, template(name), { flag: 'wx' });
      console.log(`Created ${relative} (job name "${kebabCase(name)}")`);
    });
}

function template(name: string): string {
  return `import { Jobable } from 'rakit';

export default class ${name} extends Jobable<{ id: number }> {
  /** Seconds one attempt may run before it is stopped. */
  static timeout = 120;
  /** Total attempts, the first included. */
  static tries = 3;

  async run(): Promise<void> {
    const id = this.get('id');
    // Do the work here. Pass this.signal to anything that can be cancelled.
    void id;
  }
}
`;
}
