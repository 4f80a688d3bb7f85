import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Jobable } from 'rakit';

/** Deletes files older than `days` days from `path` (relative to the app); keeps the folder. */
export default class CleanupFiles extends Jobable<{ path: string; days?: number }> {
  static timeout = 120;
  static tries = 2;

  async run(): Promise<void> {
    const dir = path.resolve(process.cwd(), this.get('path'));
    const cutoff = Date.now() - this.get('days', 7) * 86_400_000;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (this.signal.aborted) return;
      const file = path.join(dir, entry.name);
      if (entry.isFile() && (await stat(file)).mtimeMs < cutoff) await rm(file);
    }
  }
}
