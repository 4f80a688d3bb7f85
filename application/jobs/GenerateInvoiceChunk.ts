import type { Knex } from 'knex';
import knexFactory from 'knex';
import { Jobable } from 'rakit';
import { appDatabase } from '../lib/app-database.ts';

/**
 * One chunk of a month's invoicing (a job of GenerateMonthlyInvoices' batch): the active students
 * with ids in (after_id, to_id], their invoices bulk-inserted in one transaction, skipping those
 * already invoiced for the period, so a rerun or a retried chunk never invoices twice.
 */
export default class GenerateInvoiceChunk extends Jobable<{ fiscal_period_id: number; amount: number; after_id: number; to_id: number }> {
  static timeout = 60;
  static tries = 3;

  async run(): Promise<void> {
    const period = this.get('fiscal_period_id');
    const db: Knex = knexFactory(appDatabase());
    try {
      await db.transaction(async (trx) => {
        const students = (await trx('students').where('status', 'aktif').andWhere('id', '>', this.get('after_id'))
          .andWhere('id', '<=', this.get('to_id')).select('id')) as { id: number }[];
        const done = new Set((await trx('finance_invoices').where('fiscal_period_id', period)
          .whereIn('student_id', students.map((s) => s.id)).select('student_id')).map((r: { student_id: number }) => r.student_id));
        const now = new Date().toISOString();
        const rows = students.filter((s) => !done.has(s.id)).map((s) => ({
          student_id: s.id, fiscal_period_id: period, amount: this.get('amount'), created_at: now, updated_at: now,
        }));
        if (rows.length > 0) await trx('finance_invoices').insert(rows);
      });
    } finally {
      await db.destroy();
    }
  }
}
