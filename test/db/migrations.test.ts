import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../src/db/sqlite/open.js';
import { migrations } from '../../src/db/sqlite/migrations.js';
import { SqliteNotesStorage } from '../../src/db/sqlite/notes.storage.js';
import { NotesService } from '../../src/notes/notes.service.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

/** A database file as version 1 of the schema left it, with notes in it. */
function databaseAtVersion1(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-migrate-'));
  folders.push(folder);
  const file = path.join(folder, 'notes.db');
  const db = new Database(file);
  db.exec(migrations.find((migration) => migration.version === 1)!.sql);
  db.pragma('user_version = 1');
  const insert = db.prepare(`INSERT INTO notes (id, owner, title, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  insert.run('00000000-0000-4000-8000-000000000001', 'auth0|alice', 'first', 'a "quoted" body\n', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
  insert.run('00000000-0000-4000-8000-000000000002', 'auth0|alice', 'second 😀', '', 3, '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z');
  insert.run('00000000-0000-4000-8000-000000000003', 'auth0|bob', 'deleted later', '', 1, '2026-01-04T00:00:00.000Z', '2026-01-04T00:00:00.000Z');
  // The highest seq is deleted: AUTOINCREMENT must still never hand it out again.
  db.prepare(`DELETE FROM notes WHERE seq = 3`).run();
  db.close();
  return file;
}

describe('SQLite migrations', () => {
  it('when a version 1 database is opened, then its notes are kept, listed as GET returns them, and no seq is reused', async () => {
    const db = openDatabase(databaseAtVersion1());
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
      const service = new NotesService(new SqliteNotesStorage(db));
      const page = JSON.parse(await service.listJson('auth0|alice', { limit: 20 })) as { items: unknown[]; next_cursor: string | null };
      expect(page).toEqual({
        items: [
          (await service.get('auth0|alice', '00000000-0000-4000-8000-000000000002')).note,
          (await service.get('auth0|alice', '00000000-0000-4000-8000-000000000001')).note,
        ],
        next_cursor: null,
      });
      expect(page.items[1]).toEqual({
        id: '00000000-0000-4000-8000-000000000001',
        title: 'first',
        body: 'a "quoted" body\n',
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-01T00:00:00.000Z',
      });
      expect((await service.get('auth0|alice', '00000000-0000-4000-8000-000000000002')).etag).toBe('"v3"');
      const created = await new SqliteNotesStorage(db).insert('auth0|alice', { id: '00000000-0000-4000-8000-000000000004', title: 't', body: '', now: '2026-02-01T00:00:00.000Z' });
      expect(created.seq).toBe(4);
      expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notes' AND name NOT LIKE 'sqlite_%'`).pluck().all()).toEqual(['notes_owner_seq']);
    } finally {
      db.close();
    }
  });

  it('when the database is already current, then opening it again applies nothing', () => {
    const file = databaseAtVersion1();
    openDatabase(file).close();
    const db = new Database(file);
    try {
      expect(migrate(db)).toEqual([]);
    } finally {
      db.close();
    }
  });
});
