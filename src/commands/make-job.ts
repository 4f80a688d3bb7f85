import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { kebabCase } from '../core/naming.ts';

export function makeJobCommand(): Command {
  return new Command('make:job')
    .description('write application/jobs/<Name>.ts from a template that declares timeout and tries')
    .argument('<Name>', 'class name in PascalCase, e.g. SendInvoice', (value: string) => {
      if (!/^[A-Z][A-Za-z0-9]*$/.test(value)) throw new InvalidArgumentError('use a PascalCase class name, e.g. SendInvoice');
      return value;
    })
    .action((name: string) => {
      const dir = path.join(process.cwd(), 'application', 'jobs');
      const file = path.join(dir, `${name}.ts`);
      if (existsSync(file)) {
        console.error(`application/jobs/${name}.ts already exists; choose another name.`);
        process.exitCode = 1;
        return;
      }
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, template(name), { flag: 'wx' });
      console.log(`Created application/jobs/${name}.ts (job name "${kebabCase(name)}")`);
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
