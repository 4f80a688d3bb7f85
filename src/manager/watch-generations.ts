/**
 * `--watch` generations: a change under the job folder starts a new generation of worker
 * processes (the new code); an older generation retires once a newer process has loaded its
 * job files, so a file that does not load keeps the old processes working.
 */
import type { FSWatcher } from 'chokidar';
import { coerceError } from '../infra/errors.ts';
import type { Logger } from '../infra/logger.ts';

/** Changes closer together than this start one new generation of processes. */
const WATCH_DEBOUNCE_MS = 200;

export class WatchGenerations {
  /** The generation new processes belong to. */
  current = 0;
  private watcher: FSWatcher | null = null;

  /** Watches `dir`; `onChange` starts the processes of the new generation. */
  async start(dir: string, logger: Logger, onChange: () => void): Promise<void> {
    const { watch } = await import('chokidar');
    let timer: NodeJS.Timeout | null = null;
    this.watcher = watch(dir, { ignoreInitial: true, ignored: (file) => /(^|\/)(\.|node_modules)/.test(file) })
      .on('all', () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          this.current++;
          logger.info('Job files changed: starting worker processes with the new code');
          onChange();
        }, WATCH_DEBOUNCE_MS);
      })
      .on('error', (error) => logger.warn({ err: coerceError(error) }, `Cannot watch ${dir}; restart the worker to load changed jobs`));
  }

  get watching(): boolean {
    return this.watcher !== null;
  }

  /** Whether a process of `generation` retires now that one of `loaded` has loaded its job files. */
  supersedes(loaded: number, generation: number): boolean {
    return generation < loaded;
  }

  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
