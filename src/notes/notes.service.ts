import { randomUUID } from 'node:crypto';
import { NotFoundError, PreconditionFailedError } from '../errors.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { etagOf, ifMatchPasses } from './etag.js';
import { noteFromJson, noteJson } from './note-json.js';
import type { NotesStorage, StoredNote } from './notes.storage.js';
import type { ListQuery, NoteCreate, NotePatch } from './notes.schema.js';

/** A note as a response carries it: its id, its JSON text (the body) and its ETag. */
export interface VersionedNote {
  id: string;
  json: string;
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
    const page = await this.storage.page(owner, before, query.limit);
    const nextCursor = page.more && page.lastSeq !== undefined ? encodeCursor(page.lastSeq) : null;
    return `{"items":[${page.itemsJson}],"next_cursor":${JSON.stringify(nextCursor)}}`;
  }

  async create(owner: string, input: NoteCreate): Promise<VersionedNote> {
    const now = new Date().toISOString();
    const id = randomUUID();
    return versioned(await this.storage.insert(owner, { id, json: noteJson({ id, title: input.title, body: input.body, created_at: now, updated_at: now }) }));
  }

  async get(owner: string, id: string): Promise<VersionedNote> {
    return versioned(await this.require(owner, id));
  }

  async update(owner: string, id: string, patch: NotePatch, ifMatch: string | undefined): Promise<VersionedNote> {
    let stored = await this.require(owner, id);
    for (;;) {
      if (!ifMatchPasses(ifMatch, etagOf(stored.version))) throw new PreconditionFailedError();
      const note = noteFromJson(stored.json);
      const json = noteJson({ ...note, title: patch.title ?? note.title, body: patch.body ?? note.body, updated_at: new Date().toISOString() });
      const updated = await this.storage.update(owner, stored, json);
      if (updated) return versioned(updated);
      stored = await this.require(owner, id);
    }
  }

  async delete(owner: string, id: string, ifMatch: string | undefined): Promise<void> {
    let stored = await this.require(owner, id);
    for (;;) {
      if (!ifMatchPasses(ifMatch, etagOf(stored.version))) throw new PreconditionFailedError();
      if (await this.storage.delete(owner, stored)) return;
      stored = await this.require(owner, id);
    }
  }

  // Another user's note and a missing one are the same 404, so ids reveal nothing.
  private async require(owner: string, id: string): Promise<StoredNote> {
    const stored = UUID.test(id) ? await this.storage.find(owner, id.toLowerCase()) : undefined;
    if (!stored) throw new NotFoundError(NOT_FOUND);
    return stored;
  }
}

const versioned = (stored: StoredNote): VersionedNote => ({ id: stored.id, json: stored.json, etag: etagOf(stored.version) });
