import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../src/api/registry.ts';
import { DiscoveryError, UnknownJobError } from '../src/infra/errors.ts';
import { REPO } from './helpers/app.ts';

const JOBABLE = path.join(REPO, 'src/api/jobable.ts');
let root: string;
function app(files: Record<string, string>): Registry {
  root = mkdtempSync(path.join(os.tmpdir(), 'rakit-disc-'));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), source.replaceAll('JOBABLE', JOBABLE));
  }
  return new Registry(root);
}
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('discovery', () => {
  it('finds every exported Jobable under application/jobs, nested too, by kebab-case name', async () => {
    const registry = app({
      'application/jobs/SendEmail.ts': "import { Jobable } from 'JOBABLE'; export default class SendEmail extends Jobable { run() {} }",
      'application/jobs/reports/HTMLToPDF.ts': "import { Jobable } from 'JOBABLE'; export class HTMLToPDF extends Jobable { run() {} } export const notAJob = 1;",
      'application/jobs/named.ts': "import { Jobable } from 'JOBABLE'; export class X extends Jobable { static jobName = 'custom'; run() {} }",
      'application/jobs/helper.ts': 'export function helper() { return 1; }',
    });
    await registry.discover();
    expect(registry.names()).toEqual(['custom', 'html-to-pdf', 'send-email']);
  });

  it('names the file of a module that throws on import', async () => {
    const registry = app({ 'application/jobs/Bad.ts': "throw new Error('no db');" });
    await expect(registry.discover()).rejects.toThrow(DiscoveryError);
    await expect(registry.discover()).rejects.toThrow('Job module application/jobs/Bad.ts failed to import: no db');
  });

  it('names both files when two classes claim one name', async () => {
    const registry = app({
      'application/jobs/a/SendEmail.ts': "import { Jobable } from 'JOBABLE'; export class SendEmail extends Jobable { run() {} }",
      'application/jobs/b/SendEmail.ts': "import { Jobable } from 'JOBABLE'; export class SendEmail extends Jobable { run() {} }",
    });
    await expect(registry.discover()).rejects.toThrow('Two job classes are named "send-email": application/jobs/a/SendEmail.ts and application/jobs/b/SendEmail.ts');
  });

  it('resolves names by map only, and suggests the nearest names for unknown ones', async () => {
    const registry = app({
      'application/jobs/SendEmail.ts': "import { Jobable } from 'JOBABLE'; export default class SendEmail extends Jobable { run() {} }",
    });
    await registry.discover();
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(registry.resolve(name)).toBeNull();
    expect(() => registry.assertKnown('sendemail')).toThrow(UnknownJobError);
    expect(() => registry.assertKnown('sendemail')).toThrow(/did you mean "send-email"/);
  });

  it('loads application/events.ts for legacy listeners', async () => {
    const registry = app({
      'application/events.ts': `import { Event } from '${path.join(REPO, 'src/api/events.ts')}'; Event.listen('rakit.jobs.run: legacy-thing', () => 1);`,
    });
    await registry.discover();
    expect(registry.resolve('legacy-thing')).toMatchObject({ kind: 'listeners' });
  });

  it('finds job classes and listeners in .js, .cjs and .mjs files of a CommonJS JavaScript app', async () => {
    // As under the binary: require('rakit') in the app's CommonJS files gets this process's rakit.
    (globalThis as Record<symbol, unknown>)[Symbol.for('rakit.api')] ??= await import('../src/index.ts');
    const cjs = JSON.stringify(path.join(REPO, 'dist', 'index.cjs'));
    const registry = app({
      'package.json': JSON.stringify({ type: 'commonjs' }),
      'application/jobs/Mailer.cjs': `const { Jobable } = require(${cjs});\nclass Mailer extends Jobable { run() {} }\nmodule.exports = Mailer;`,
      'application/jobs/billing/Billing.js': `const { Jobable } = require(${cjs});\nexports.Billing = class Billing extends Jobable { run() {} };`,
      'application/jobs/Report.mjs': "import { Jobable } from 'JOBABLE'; export default class Report extends Jobable { run() {} }",
      'application/events.cjs': `require(${cjs}).Event.listen('rakit.jobs.run: js-thing', () => 1);`,
    });
    await registry.discover();
    expect(registry.names()).toEqual(expect.arrayContaining(['billing', 'mailer', 'report', 'js-thing']));
    expect(registry.resolve('js-thing')).toMatchObject({ kind: 'listeners' });
  });
});
