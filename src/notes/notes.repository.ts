import type { Histogram } from 'prom-client';
import type { Db } from '../db/open.js';

export interface NoteRow {
  seq: number;
  id: string;
  owner: string;
  title: string;
  body: string;
  version: number;
  created_at: string;
  updated_at: string;
}

/** A page of notes, newest first: each note's `seq` and its stored JSON, exactly as `toNote` shapes it. */
export type NotePageRow = [seq: number, json: string];

/** The columns of a NoteRow; `json` is left out where the row is shaped in JavaScript. */
const ROW = 'seq, id, owner, title, body, version, created_at, updated_at';

/** SQL for notes. Every statement is prepared once and scoped by `owner`: no query can reach another user's note. */
export class NotesRepository {
  private readonly statements;
  private readonly db: Db;
  private readonly duration: Histogram<'operation'> | undefined;

  constructor(db: Db, duration?: Histogram<'operation'>) {
    this.db = db;
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
      update: db.prepare<[string, string, string, string, number], NoteRow>(
        `UPDATE notes SET title = ?, body = ?, updated_at = ?, version = version + 1
         WHERE owner = ? AND seq = ? RETURNING ${ROW}`,
      ),
      delete: db.prepare<[string, number]>(`DELETE FROM notes WHERE owner = ? AND seq = ?`),
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

  /** Runs `work` in one transaction, so a read-check-write cannot interleave with another writer. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  insert(owner: string, note: { id: string; title: string; body: string; now: string }): NoteRow {
    return this.timed('insert', () => this.statements.insert.get(note.id, owner, note.title, note.body, note.now, note.now)!);
  }

  find(owner: string, id: string): NoteRow | undefined {
    return this.timed('find', () => this.statements.find.get(owner, id));
  }

  /** Up to `limit` notes older than `beforeSeq`, newest first. */
  page(owner: string, beforeSeq: number, limit: number): NotePageRow[] {
    return this.timed('page', () => this.statements.page.all(owner, beforeSeq, limit));
  }

  update(owner: string, seq: number, changes: { title: string; body: string; now: string }): NoteRow {
    return this.timed('update', () => this.statements.update.get(changes.title, changes.body, changes.now, owner, seq)!);
  }

  delete(owner: string, seq: number): void {
    this.timed('delete', () => this.statements.delete.run(owner, seq));
  }
}
