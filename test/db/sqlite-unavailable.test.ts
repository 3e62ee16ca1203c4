import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { sqliteNotesStorage } from '../../src/db/sqlite/notes.storage.js';
import { openDatabase, type Db } from '../../src/db/sqlite/open.js';
import { StorageUnavailableError } from '../../src/errors.js';
import { noteJson } from '../../src/notes/note-json.js';

let folder: string;
let db: Db;
let other: Database.Database;
beforeAll(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-unavailable-'));
  const file = path.join(folder, 'notes.db');
  db = openDatabase(file);
  // Busy at once rather than after the 5 s the API waits.
  db.pragma('busy_timeout = 0');
  other = new Database(file);
});
afterAll(() => {
  other.close();
  db.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

const note = (n: number) => {
  const id = `00000000-0000-4000-8000-00000000000${n}`;
  return { id, json: noteJson({ id, title: `note ${n}`, body: '', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' }) };
};

describe('SQLite storage that cannot serve', () => {
  it('when another connection holds the write lock, then a write rejects with StorageUnavailableError, and succeeds once the lock is gone', async () => {
    const storage = sqliteNotesStorage(db);
    other.exec('BEGIN IMMEDIATE');
    try {
      const refused = await storage.insert('auth0|alice', note(1)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageUnavailableError);
      expect((refused as Error).cause).toMatchObject({ code: 'SQLITE_BUSY' });
    } finally {
      other.exec('ROLLBACK');
    }
    expect((await storage.insert('auth0|alice', note(1))).version).toBe(1);
  });

  it('when a statement fails for another reason, then its error is not reported as unavailable', async () => {
    const storage = sqliteNotesStorage(db);
    const duplicate = await storage.insert('auth0|alice', note(1)).catch((error: unknown) => error);
    expect(duplicate).not.toBeInstanceOf(StorageUnavailableError);
    expect(duplicate).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
  });
});
