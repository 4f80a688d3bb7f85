import type { Knex } from 'knex';
import knexFactory from 'knex';
import { Jobable } from 'rakit';
import { appDatabase } from '../lib/app-database.ts';

/**
 * Mass invoicing the shared-hosting way: students are read in chunks by id (never all at once),
 * each chunk's invoices are bulk-inserted inside one transaction, so a run killed mid-way leaves
 * whole chunks only — and a rerun skips students already invoiced for the period.
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
    try {
      let lastId = 0;
      for (;;) {
        if (this.signal.aborted) throw this.signal.reason;
        const students = (await db('students').where('status', 'aktif').andWhere('id', '>', lastId)
          .orderBy('id').limit(GenerateMonthlyInvoices.chunkSize).select('id')) as { id: number }[];
        if (students.length === 0) break;
        lastId = students[students.length - 1]!.id;
        await db.transaction(async (trx) => {
          const done = new Set((await trx('finance_invoices').where('fiscal_period_id', period)
            .whereIn('student_id', students.map((s) => s.id)).select('student_id')).map((r: { student_id: number }) => r.student_id));
          const now = new Date().toISOString();
          const rows = students.filter((s) => !done.has(s.id)).map((s) => ({
            student_id: s.id, fiscal_period_id: period, amount, created_at: now, updated_at: now,
          }));
          if (rows.length > 0) await trx('finance_invoices').insert(rows);
        });
      }
    } finally {
      await db.destroy();
    }
  }
}
