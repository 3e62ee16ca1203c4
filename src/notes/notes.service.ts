import { randomUUID } from 'node:crypto';
import { NotFoundError, PreconditionFailedError } from '../errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { etagOf, ifMatchPasses } from './etag.js';
import type { NoteRow, NotesStorage } from './notes.storage.js';
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

const NOT_FOUND = 'No note with this id exists for the signed-in user.';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The notes use cases. Each takes the owner first: a note is only ever reached through its owner. Conditional writes
 * (If-Match) read the note, check the tag, then write only if the note is still at the version read: a write that
 * lost a race to another one (in this process or another replica) reads the note again and is judged on what it finds
 * (412 when it changed, 404 when it is gone: RFC 9110 §13.2.1 ignores a precondition on a missing resource).
 */
export class NotesService {
  constructor(private readonly storage: NotesStorage) {}

  /** A page of the owner's notes, newest first, as the JSON text of `{ items: Note[], next_cursor }`. */
  async listJson(owner: string, query: ListQuery): Promise<string> {
    const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.cursor);
    // One note more than the page tells whether there is a next page, in the same query.
    const rows = await this.storage.page(owner, before, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor(last[0]) : null;
    return `{"items":[${page.map(([, json]) => json).join(',')}],"next_cursor":${JSON.stringify(nextCursor)}}`;
  }

  async create(owner: string, input: NoteCreate): Promise<VersionedNote> {
    const row = await this.storage.insert(owner, { id: randomUUID(), ...input, now: new Date().toISOString() });
    return versioned(row);
  }

  async get(owner: string, id: string): Promise<VersionedNote> {
    return versioned(await this.require(owner, id));
  }

  async update(owner: string, id: string, patch: NotePatch, ifMatch: string | undefined): Promise<VersionedNote> {
    let row = await this.require(owner, id);
    for (;;) {
      if (!ifMatchPasses(ifMatch, etagOf(row.version))) throw new PreconditionFailedError();
      const updated = await this.storage.update(owner, row, {
        title: patch.title ?? row.title,
        body: patch.body ?? row.body,
        now: new Date().toISOString(),
      });
      if (updated) return versioned(updated);
      row = await this.require(owner, id);
    }
  }

  async delete(owner: string, id: string, ifMatch: string | undefined): Promise<void> {
    let row = await this.require(owner, id);
    for (;;) {
      if (!ifMatchPasses(ifMatch, etagOf(row.version))) throw new PreconditionFailedError();
      if (await this.storage.delete(owner, row)) return;
      row = await this.require(owner, id);
    }
  }

  // Another user's note and a missing one are the same 404, so ids reveal nothing.
  private async require(owner: string, id: string): Promise<NoteRow> {
    const row = UUID.test(id) ? await this.storage.find(owner, id.toLowerCase()) : undefined;
    if (!row) throw new NotFoundError(NOT_FOUND);
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
