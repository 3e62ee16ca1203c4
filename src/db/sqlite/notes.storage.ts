import type { Histogram } from 'prom-client';
import type { NotePageRow, NoteRow, NotesStorage } from '../../notes/notes.storage.js';
import type { Db } from './open.js';

/** The columns of a NoteRow; `json` is left out where the row is shaped in JavaScript. */
const ROW = 'seq, id, owner, title, body, version, created_at, updated_at';

/**
 * Notes in SQLite. Every statement is prepared once and scoped by `owner`. better-sqlite3 is synchronous: each method
 * has done its work (and committed it) before it returns its promise.
 */
export class SqliteNotesStorage implements NotesStorage {
  private readonly statements;
  private readonly duration: Histogram<'operation'> | undefined;

  constructor(db: Db, duration?: Histogram<'operation'>) {
    this.duration = duration;
    this.statements = {
      insert: db.prepare<[string, string, string, string, string, string], NoteRow>(
        `INSERT INTO notes (id, owner, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING ${ROW}`,
      ),
      find: db.prepare<[string, string], NoteRow>(`SELECT ${ROW} FROM notes WHERE owner = ? AND id = ?`),
      // Each note's JSON was stored when it was written (migration 2): a page is a range of the owner's index.
      page: db
        .prepare<[string, number, number], NotePageRow>(`SELECT seq, json FROM notes WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
        .raw(),
      update: db.prepare<[string, string, string, string, number, number], NoteRow>(
        `UPDATE notes SET title = ?, body = ?, updated_at = ?, version = version + 1
         WHERE owner = ? AND seq = ? AND version = ? RETURNING ${ROW}`,
      ),
      delete: db.prepare<[string, number, number]>(`DELETE FROM notes WHERE owner = ? AND seq = ? AND version = ?`),
    };
  }

  private timed<T>(operation: string, query: () => T): T {
    if (!this.duration) return query();
    const end = this.duration.startTimer({ operation });
    try {
      return query();
    } finally {
      end();
    }
  }

  async insert(owner: string, note: { id: string; title: string; body: string; now: string }): Promise<NoteRow> {
    return this.timed('insert', () => this.statements.insert.get(note.id, owner, note.title, note.body, note.now, note.now)!);
  }

  async find(owner: string, id: string): Promise<NoteRow | undefined> {
    return this.timed('find', () => this.statements.find.get(owner, id));
  }

  async page(owner: string, beforeSeq: number, limit: number): Promise<NotePageRow[]> {
    return this.timed('page', () => this.statements.page.all(owner, beforeSeq, limit));
  }

  async update(owner: string, current: NoteRow, changes: { title: string; body: string; now: string }): Promise<NoteRow | undefined> {
    return this.timed('update', () =>
      this.statements.update.get(changes.title, changes.body, changes.now, owner, current.seq, current.version),
    );
  }

  async delete(owner: string, current: NoteRow): Promise<boolean> {
    return this.timed('delete', () => this.statements.delete.run(owner, current.seq, current.version).changes > 0);
  }
}
