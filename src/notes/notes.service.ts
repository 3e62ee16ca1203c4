import { randomUUID } from 'node:crypto';
import { NotFoundError, PreconditionFailedError } from '../errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { etagOf, ifMatchPasses } from './etag.js';
import type { NoteRow, NotesRepository } from './notes.repository.js';
import type { ListQuery, NoteCreate, NotePatch } from './notes.schema.js';

export interface Note {
  id: string;
  title: string;
  body: string;
  created_at: string;
  updated_at: string;
}

export interface VersionedNote {
  note: Note;
  etag: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The notes use cases. Each takes the owner first: a note is only ever reached through its owner. */
export class NotesService {
  constructor(private readonly repository: NotesRepository) {}

  /** A page of the owner's notes, newest first, as the JSON text of `{ items: Note[], next_cursor }`. */
  listJson(owner: string, query: ListQuery): string {
    const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.cursor);
    // One note more than the page tells whether there is a next page, in the same query.
    const rows = this.repository.page(owner, before, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor(last[0]) : null;
    return `{"items":[${page.map(([, json]) => json).join(',')}],"next_cursor":${JSON.stringify(nextCursor)}}`;
  }

  create(owner: string, input: NoteCreate): VersionedNote {
    const row = this.repository.insert(owner, { id: randomUUID(), ...input, now: new Date().toISOString() });
    return versioned(row);
  }

  get(owner: string, id: string): VersionedNote {
    return versioned(this.require(owner, id));
  }

  update(owner: string, id: string, patch: NotePatch, ifMatch: string | undefined): VersionedNote {
    return this.repository.transaction(() => {
      const row = this.require(owner, id);
      if (!ifMatchPasses(ifMatch, etagOf(row.version))) throw new PreconditionFailedError();
      const updated = this.repository.update(owner, row.seq, {
        title: patch.title ?? row.title,
        body: patch.body ?? row.body,
        now: new Date().toISOString(),
      });
      return versioned(updated);
    });
  }

  delete(owner: string, id: string, ifMatch: string | undefined): void {
    this.repository.transaction(() => {
      const row = this.require(owner, id);
      if (!ifMatchPasses(ifMatch, etagOf(row.version))) throw new PreconditionFailedError();
      this.repository.delete(owner, row.seq);
    });
  }

  // Another user's note and a missing one are the same 404, so ids reveal nothing.
  private require(owner: string, id: string): NoteRow {
    const row = UUID.test(id) ? this.repository.find(owner, id.toLowerCase()) : undefined;
    if (!row) throw new NotFoundError('No note with this id exists for the signed-in user.');
    return row;
  }
}

const toNote = (row: NoteRow): Note => ({
  id: row.id,
  title: row.title,
  body: row.body,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

const versioned = (row: NoteRow): VersionedNote => ({ note: toNote(row), etag: etagOf(row.version) });
