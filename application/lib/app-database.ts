import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/** The example app's own data (students, invoices): storage/app.sqlite, or APP_DATABASE_URL. */
export function appDatabase(): Knex.Config {
  const url = process.env.APP_DATABASE_URL;
  if (url?.startsWith('postgres')) return { client: 'pg', connection: url };
  if (url?.startsWith('mysql')) return { client: 'mysql2', connection: url };
  const filename = path.join(process.cwd(), 'storage', 'app.sqlite');
  mkdirSync(path.dirname(filename), { recursive: true });
  return { client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true };
}

/** Creates the example tables (students, finance_invoices) when missing. */
export async function ensureAppSchema(db: Knex): Promise<void> {
  if (!(await db.schema.hasTable('students'))) {
    await db.schema.createTable('students', (t) => {
      t.increments('id');
      t.string('name').notNullable();
      t.string('status').notNullable().defaultTo('aktif');
    });
  }
  if (!(await db.schema.hasTable('finance_invoices'))) {
    await db.schema.createTable('finance_invoices', (t) => {
      t.increments('id');
      t.integer('student_id').notNullable();
      t.integer('fiscal_period_id').notNullable();
      t.integer('amount').notNullable();
      t.string('created_at');
      t.string('updated_at');
      t.unique(['student_id', 'fiscal_period_id']);
    });
  }
}
