import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { migrate, openDatabase } from '../../src/db/sqlite/open.js';
import { migrations } from '../../src/db/sqlite/migrations.js';
import { sqliteNotesStorage } from '../../src/db/sqlite/notes.storage.js';
import { noteJson } from '../../src/notes/note-json.js';
import { NotesService } from '../../src/notes/notes.service.js';

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) fs.rmSync(folder, { recursive: true, force: true });
});

/** A database file with the schema at `version` (migrations up to it applied, as those versions of the API did). */
function databaseAtVersion(version: number): { file: string; db: Database.Database } {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-migrate-'));
  folders.push(folder);
  const file = path.join(folder, 'notes.db');
  const db = new Database(file);
  for (const migration of migrations.filter((candidate) => candidate.version <= version)) db.exec(migration.sql);
  db.pragma(`user_version = ${version}`);
  return { file, db };
}

/** A database file as version 1 of the schema left it, with notes in it. */
function databaseAtVersion1(): string {
  const { file, db } = databaseAtVersion(1);
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
      const service = new NotesService(sqliteNotesStorage(db));
      const page = JSON.parse(await service.listJson('auth0|alice', { limit: 20 })) as { items: unknown[]; next_cursor: string | null };
      expect(page).toEqual({
        items: [
          JSON.parse((await service.get('auth0|alice', '00000000-0000-4000-8000-000000000002')).json),
          JSON.parse((await service.get('auth0|alice', '00000000-0000-4000-8000-000000000001')).json),
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
      const id = '00000000-0000-4000-8000-000000000004';
      const now = '2026-02-01T00:00:00.000Z';
      const created = await sqliteNotesStorage(db).insert('auth0|alice', { id, json: noteJson({ id, title: 't', body: '', created_at: now, updated_at: now }) });
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

  it('when a version 2 database (JSON in a generated column) is opened, then every note keeps its JSON byte for byte, and new notes get seqs above the old highest, even deleted', async () => {
    const { file, db: before } = databaseAtVersion(2);
    const insert = before.prepare(`INSERT INTO notes (id, owner, title, body, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const texts = ['plain', 'a "quoted" \\ body\nwith lines\ttabs', 'emoji 😀 and é, ß, 中文', 'separators \u2028 \u2029 and \u007f', ''];
    texts.forEach((text, i) => {
      insert.run(`00000000-0000-4000-8000-00000000001${i}`, i % 2 ? 'auth0|bob' : 'auth0|alice', `title ${text}`, text, i + 1, '2026-01-01T00:00:00.000Z', `2026-01-0${i + 1}T00:00:00.000Z`);
    });
    insert.run('00000000-0000-4000-8000-000000000019', 'auth0|alice', 'the highest, deleted', '', 1, '2026-01-09T00:00:00.000Z', '2026-01-09T00:00:00.000Z');
    before.prepare(`DELETE FROM notes WHERE id = '00000000-0000-4000-8000-000000000019'`).run();
    const stored = before.prepare<[], { seq: number; id: string; owner: string; version: number; json: string }>(`SELECT seq, id, owner, version, json FROM notes ORDER BY seq`).all();
    before.close();
    expect(stored).toHaveLength(texts.length);

    const db = openDatabase(file);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
      expect(db.prepare(`SELECT seq, id, owner, version, json FROM notes ORDER BY seq`).all()).toEqual(stored);
      const service = new NotesService(sqliteNotesStorage(db));
      const alicePage = await service.listJson('auth0|alice', { limit: 20 });
      const aliceJson = stored.filter((note) => note.owner === 'auth0|alice').reverse().map((note) => note.json);
      expect(alicePage).toBe(`{"items":[${aliceJson.join(',')}],"next_cursor":null}`);
      const read = await service.get('auth0|bob', stored[1]!.id);
      expect([read.json, read.etag]).toEqual([stored[1]!.json, '"v2"']);

      const created = await service.create('auth0|alice', { title: 'after the migration', body: '' });
      expect(db.prepare(`SELECT seq FROM notes WHERE id = ?`).pluck().get(created.id)).toBe(texts.length + 2);
      expect(JSON.parse((await service.listJson('auth0|alice', { limit: 1 }))).items[0].id).toBe(created.id);
      expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notes' AND name NOT LIKE 'sqlite_%'`).pluck().all()).toEqual(['notes_owner_seq']);
    } finally {
      db.close();
    }
  });
});
