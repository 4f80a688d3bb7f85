import type { Knex } from 'knex';
import knexFactory from 'knex';
import { Job, Jobable } from 'rakit';
import { appDatabase } from '../lib/app-database.ts';
import GenerateInvoiceChunk from './GenerateInvoiceChunk.ts';

/**
 * Mass invoicing the shared-hosting way: the active students are walked by id in chunks (only
 * their ids, never all rows at once) and each chunk becomes one job of a batch
 * (`invoices-<period>` in `rakit job:batches`), which workers run in parallel. Each chunk writes
 * its invoices in one transaction and skips students already invoiced for the period, so a chunk
 * killed mid-way, retried, or dispatched again by a rerun never invoices twice.
 */
export default class GenerateMonthlyInvoices extends Jobable<{ fiscal_period_id: number; amount?: number }> {
  static timeout = 120;
  static tries = 3;
  static chunkSize = 100;

  uniqueId(): string {
    return `generate_invoice_${this.get('fiscal_period_id')}`;
  }

  async run(): Promise<void> {
    const period = this.get('fiscal_period_id');
    const amount = this.get('amount', 500_000);
    const db: Knex = knexFactory(appDatabase());
    const chunks: GenerateInvoiceChunk[] = [];
    try {
      let afterId = 0;
      for (;;) {
        const ids = (await db('students').where('status', 'aktif').andWhere('id', '>', afterId)
          .orderBy('id').limit(GenerateMonthlyInvoices.chunkSize).pluck('id')) as number[];
        if (ids.length === 0) break;
        const toId = ids[ids.length - 1]!;
        chunks.push(new GenerateInvoiceChunk({ fiscal_period_id: period, amount, after_id: afterId, to_id: toId }));
        afterId = toId;
      }
    } finally {
      await db.destroy();
    }
    await Job.batch(chunks).name(`invoices-${period}`).onQueue(this.queue).allowFailures().dispatch();
  }
}
