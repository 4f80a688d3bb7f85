/**
 * Every failed job of a store, oldest first, read page by page through the contract's
 * `listFailed` (newest first): what a test compares against.
 */
import type { FailedFilter, FailedJob, FailedStore } from '../../src/store/driver.ts';
import { EVERY_FAILURE } from '../../src/store/failed/failed-view.ts';

export async function allFailed(store: Pick<FailedStore, 'listFailed'>, filter: Partial<FailedFilter> = {}): Promise<FailedJob[]> {
  const out: FailedJob[] = [];
  let after: string | null = null;
  do {
    const page = await store.listFailed({ ...EVERY_FAILURE, ...filter, after, limit: 1000 });
    out.push(...page.jobs);
    after = page.next;
  } while (after !== null);
  return out.reverse();
}
