import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ReadinessCheck } from '../../readiness.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens the database file (`DATABASE_URL` read by parseDatabaseUrl, or `:memory:`), creating its folder, and brings
 * its schema up to date.
 * WAL lets readers run beside the writer; `synchronous = FULL` makes every acknowledged write survive a power cut.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/**
 * Applies the migrations this database has not seen yet; returns the versions applied. All in one IMMEDIATE
 * transaction: replicas starting together on one file take turns, and each reads the version under the write lock,
 * so none applies a migration another has just applied.
 */
export function migrate(db: Db): number[] {
  return db
    .transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      const pending = migrations.filter((migration) => migration.version > current);
      for (const migration of pending) {
        db.exec(migration.sql);
        db.pragma(`user_version = ${migration.version}`);
      }
      return pending.map((migration) => migration.version);
    })
    .immediate();
}

/** `/readyz`'s `database` check on SQLite: the database answers a query. */
export function sqliteCheck(db: { prepare(sql: string): { get(): unknown } }): ReadinessCheck {
  return {
    name: 'database',
    ready: async () => {
      try {
        return db.prepare('SELECT 1 AS ok').get() !== undefined;
      } catch {
        return false;
      }
    },
  };
}
