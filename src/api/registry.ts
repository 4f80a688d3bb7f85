/**
 * Which code runs a stored job name: job classes discovered under `application/jobs/**`
 * (fast-glob), classes dispatched in this process, and legacy listeners. A stored name only
 * ever resolves to one of these — stored data never chooses code.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findAppFile, importModule, prepareModules } from '../infra/app-files.ts';
import { DiscoveryError, UnknownJobError, coerceError, cutInput } from '../infra/errors.ts';
import { jobListeners, listenedJobNames, type Listener } from './events.ts';
import { isJobClass } from './job-brand.ts';
import type { JobClass } from './job-types.ts';
import { nearestNames } from '../infra/naming.ts';

export type Handler = { kind: 'class'; jobClass: JobClass } | { kind: 'listeners'; listeners: Listener[] };

const JOB_GLOB = '**/*.{ts,mts,cts,js,mjs,cjs}';

export class Registry {
  private readonly classes = new Map<string, { jobClass: JobClass; file: string }>();
  private discovered: Promise<void> | null = null;

  constructor(private readonly root: string) {}

  /** Imports every module under application/jobs and application/events.ts, once. */
  discover(): Promise<void> {
    this.discovered ??= this.load().catch((error: unknown) => {
      this.discovered = null;
      throw error;
    });
    return this.discovered;
  }

  private async load(): Promise<void> {
    const dir = path.join(this.root, 'application', 'jobs');
    const fg = existsSync(dir) ? (await import('fast-glob')).default : null; // loaded when there are jobs to find
    const files = fg ? (await fg(JOB_GLOB, { cwd: dir, absolute: true, ignore: ['**/*.d.ts', '**/*.test.*'] })).sort() : [];
    const events = findAppFile(this.root, 'application/events');
    await prepareModules(events ? [...files, events] : files, this.root);
    for (const file of files) {
      let exports: Record<string, unknown>;
      try {
        exports = await importModule(file);
      } catch (error) {
        throw new DiscoveryError(`Job module ${path.relative(this.root, file)} failed to import: ${coerceError(error).message}`, { cause: error });
      }
      for (const value of new Set(Object.values(exports))) {
        if (isJobClass(value)) this.add(value, file);
      }
    }
    if (events) {
      try {
        await importModule(events);
      } catch (error) {
        throw new DiscoveryError(`${path.relative(this.root, events)} failed to import: ${coerceError(error).message}`, { cause: error });
      }
    }
  }

  private add(jobClass: JobClass, file: string): void {
    const name = jobClass.nameOfJob;
    const existing = this.classes.get(name);
    if (existing && existing.jobClass !== jobClass) {
      if (existing.file === '<dispatched>') existing.file = file; // the same job loaded twice
      else {
        throw new DiscoveryError(
          `Two job classes are named "${name}": ${path.relative(this.root, existing.file)} and ${path.relative(this.root, file)} — ` +
            'rename one or set `static jobName`',
        );
      }
    }
    this.classes.set(name, { jobClass, file });
  }

  /** Makes a class dispatched in this process known by name (it may live outside application/jobs). */
  remember(jobClass: JobClass): void {
    if (!this.classes.has(jobClass.nameOfJob)) this.classes.set(jobClass.nameOfJob, { jobClass, file: '<dispatched>' });
  }

  /** The handler of a stored job name, or null. Map lookups only: `constructor` or `../x` find nothing. */
  resolve(name: string): Handler | null {
    const entry = this.classes.get(name);
    if (entry) return { kind: 'class', jobClass: entry.jobClass };
    const listeners = jobListeners(name);
    return listeners.length > 0 ? { kind: 'listeners', listeners } : null;
  }

  /** Every name that has a class or a listener. */
  names(): string[] {
    return [...new Set([...this.classes.keys(), ...listenedJobNames()])].sort();
  }

  jobClasses(): JobClass[] {
    return [...this.classes.values()].map((e) => e.jobClass);
  }

  /** Throws UnknownJobError (with the nearest names) unless `name` has a handler. */
  assertKnown(name: string): void {
    if (this.resolve(name)) return;
    const near = nearestNames(name, this.names());
    throw new UnknownJobError(
      `Unknown job "${cutInput(name)}": no class in application/jobs and no listener for "rakit.jobs.run: ${cutInput(name)}"` +
        (near.length ? ` — did you mean ${near.map((n) => `"${n}"`).join(', ')}?` : ''),
    );
  }
}
