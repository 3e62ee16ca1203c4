/**
 * Where notes are kept, as the service sees it: one interface, a SQLite and a PostgreSQL implementation
 * (src/db/sqlite/, src/db/postgres/), chosen once in main.ts from DATABASE_URL. Every method takes the owner first and
 * is scoped by it: no call can reach another user's note. A promise resolves only once the write is committed.
 */
export interface NotesStorage {
  insert(owner: string, note: { id: string; title: string; body: string; now: string }): Promise<NoteRow>;
  /** The note with this (lower-case UUID) id, when the owner has it. */
  find(owner: string, id: string): Promise<NoteRow | undefined>;
  /** Up to `limit` notes older than `beforeSeq`, newest first. */
  page(owner: string, beforeSeq: number, limit: number): Promise<NotePageRow[]>;
  /**
   * Writes `changes` to the note `current` was read from, only if it is still at `current.version`: `undefined` when
   * another write (from this process or another) came between the read and this one.
   */
  update(owner: string, current: NoteRow, changes: { title: string; body: string; now: string }): Promise<NoteRow | undefined>;
  /** Deletes the note `current` was read from, only if it is still at `current.version`; false when it was not. */
  delete(owner: string, current: NoteRow): Promise<boolean>;
}

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
