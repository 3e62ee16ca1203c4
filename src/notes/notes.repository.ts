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

/** A page of notes as the JSON array the API returns, and where it ends. */
export interface NotePageJson {
  /** The notes, newest first, each exactly as `toNote` shapes it. */
  itemsJson: string;
  count: number;
  /** `seq` of the page's last (oldest) note; null when the page is empty. */
  lastSeq: number | null;
}

/** The fields of a note as the API returns it, in order (the same as NotesService's `Note`). */
const NOTE_JSON = `json_object('id', id, 'title', title, 'body', body, 'created_at', created_at, 'updated_at', updated_at)`;

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
        `INSERT INTO notes (id, owner, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
      ),
      find: db.prepare<[string, string], NoteRow>(`SELECT * FROM notes WHERE owner = ? AND id = ?`),
      // The page is serialised by SQLite: building 20 row objects and stringifying them cost twice as much.
      pageJson: db.prepare<[string, number, number], { items: string; count: number; last_seq: number | null }>(
        `SELECT json_group_array(${NOTE_JSON} ORDER BY seq DESC) AS items, count(*) AS count, min(seq) AS last_seq
         FROM (SELECT * FROM notes WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?)`,
      ),
      hasOlder: db
        .prepare<[string, number], number>(`SELECT EXISTS (SELECT 1 FROM notes WHERE owner = ? AND seq < ?)`)
        .pluck(),
      update: db.prepare<[string, string, string, string, number], NoteRow>(
        `UPDATE notes SET title = ?, body = ?, updated_at = ?, version = version + 1
         WHERE owner = ? AND seq = ? RETURNING *`,
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

  /** Up to `limit` notes older than `beforeSeq`, newest first, as JSON. */
  pageJson(owner: string, beforeSeq: number, limit: number): NotePageJson {
    return this.timed('page', () => {
      const { items, count, last_seq } = this.statements.pageJson.get(owner, beforeSeq, limit)!;
      return { itemsJson: items, count, lastSeq: last_seq };
    });
  }

  /** Whether the owner has a note older than `seq`. */
  hasOlder(owner: string, seq: number): boolean {
    return this.timed('page', () => this.statements.hasOlder.get(owner, seq) === 1);
  }

  update(owner: string, seq: number, changes: { title: string; body: string; now: string }): NoteRow {
    return this.timed('update', () => this.statements.update.get(changes.title, changes.body, changes.now, owner, seq)!);
  }

  delete(owner: string, seq: number): void {
    this.timed('delete', () => this.statements.delete.run(owner, seq));
  }
}
