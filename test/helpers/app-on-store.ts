/**
 * A test app on one of the stores (stores.ts) for a describe's cases: kept apart from stores.ts,
 * which the benches import outside vitest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { makeApp, type TestApp } from './app.ts';
import type { Store } from './stores.ts';

/**
 * For a describe: a test app on `store` (its config, `sleep_ms` 50 and `config`), with `files`
 * written and, on a database, its tables migrated, handed to `use` before the cases run; the app,
 * the store's data and the scratch folder are removed after them.
 */
export function appOnStore(store: Store, files: Record<string, string>, use: (app: TestApp) => void, config: Record<string, unknown> = {}): void {
  let app: TestApp | undefined;
  let drop = async () => {};
  let scratch: string | undefined;
  beforeAll(async () => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'rakit-store-'));
    const made = await store.setup(scratch);
    drop = made.drop;
    app = makeApp({ ...made.config, sleep_ms: 50, ...config });
    for (const [file, source] of Object.entries(files)) app.write(file, source);
    if (store.database) {
      await app.rakit(['job:table']);
      expect((await app.rakit(['migrate'])).code).toBe(0);
    }
    use(app);
  }, 60_000);
  afterAll(async () => {
    app?.remove();
    await drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
}
