/**
 * Where notes are kept, as the service sees it: one interface, a SQLite and a PostgreSQL implementation
 * (src/db/sqlite/, src/db/postgres/), chosen once from DATABASE_URL by `openStorage` (src/db/open-storage.ts). Every
 * method takes the owner first and is scoped by it: no call can reach another user's note. A promise resolves only
 * once the write is committed. A note is kept as the JSON text `noteJson` (note-json.ts) made of it, which the
 * storage stores and returns as it is, without reading it.
 *
 * When the engine cannot serve right now (busy, locked, full, unreachable, too slow), a method rejects with
 * `StorageUnavailableError` (src/errors.ts), whichever the engine; any other rejection is a fault.
 */
export interface NotesStorage {
  insert(owner: string, note: { id: string; json: string }): Promise<StoredNote>;
  /** The note with this (lower-case UUID) id, when the owner has it. */
  find(owner: string, id: string): Promise<StoredNote | undefined>;
  /** Up to `limit` notes older than `beforeSeq`, newest first. */
  page(owner: string, beforeSeq: number, limit: number): Promise<NotePage>;
  /**
   * Replaces the JSON of the note `current` was read from, only if it is still at `current.version`: `undefined` when
   * another write (from this process or another) came between the read and this one.
   */
  update(owner: string, current: StoredNote, json: string): Promise<StoredNote | undefined>;
  /** Deletes the note `current` was read from, only if it is still at `current.version`; false when it was not. */
  delete(owner: string, current: StoredNote): Promise<boolean>;
}

/** A note as the storage keeps it: what the storage itself needs of it (order, id, version), and its JSON. */
export interface StoredNote {
  /** Its place in the order notes were written, which pages and cursors follow; never reused. */
  seq: number;
  id: string;
  /** Raised by every write; the ETag is made of it. */
  version: number;
  /** The note as `noteJson` wrote it. */
  json: string;
}

/** A page of notes, newest first, as a response carries it. */
export interface NotePage {
  /** The notes' stored JSON, joined by commas ('' when the page is empty). */
  itemsJson: string;
  /** The `seq` of the page's last (oldest) note, where the next page starts; undefined when the page is empty. */
  lastSeq: number | undefined;
  /** Whether the owner has notes older than the page's last. */
  more: boolean;
}
