import type { Histogram } from 'prom-client';
import { startStatementTimer } from '../statement-timer.js';
import { inClientSpan } from '../../observability/tracing/spans.js';
import { StorageUnavailableError } from '../../errors.js';
import type { NotePage, NotesStorage, StoredNote } from '../../notes/notes.storage.js';
import type { Db } from './open.js';

// SQLite answers these when the database is busy, full or gone: the operation may succeed later.
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|NOTADB|CORRUPT)/;

/** How a statement's span is named and described, by the database conventions: operation and table, never a value. */
const statementSpan = (operation: string) => ({
  name: `${operation} notes`,
  attributes: { 'db.system.name': 'sqlite', 'db.operation.name': operation, 'db.collection.name': 'notes' },
});
// While tracing, each statement of a sampled request is a client span: `pg` has an instrumentation, better-sqlite3 none.
const STATEMENT_SPANS = {
  insert: statementSpan('INSERT'),
  find: statementSpan('SELECT'),
  page: statementSpan('SELECT'),
  update: statementSpan('UPDATE'),
  delete: statementSpan('DELETE'),
};

/**
 * Notes in SQLite. Every statement is prepared once and scoped by `owner`. better-sqlite3 is synchronous: each method
 * has done its work (and committed it) before it returns its promise. A database that is busy, full or gone rejects
 * with `StorageUnavailableError`.
 *
 * @example
 * const notes = sqliteNotesStorage(openDatabase('data/notes.db'), metrics.dbQueryDuration);
 */
export function sqliteNotesStorage(db: Db, duration?: Histogram<'operation'>): NotesStorage {
  const statements = {
    insert: db.prepare<[string, string, string], number>(`INSERT INTO notes (id, owner, json) VALUES (?, ?, ?) RETURNING seq`).pluck(),
    find: db.prepare<[string, string], StoredNote>(`SELECT seq, id, version, json FROM notes WHERE owner = ? AND id = ?`),
    // Each note's JSON is stored as written: a page is a range of the owner's index, one row more than the page to
    // tell whether there is a next one.
    page: db
      .prepare<[string, number, number], [seq: number, json: string]>(`SELECT seq, json FROM notes WHERE owner = ? AND seq < ? ORDER BY seq DESC LIMIT ?`)
      .raw(),
    update: db
      .prepare<[string, string, number, number], number>(`UPDATE notes SET json = ?, version = version + 1 WHERE owner = ? AND seq = ? AND version = ? RETURNING version`)
      .pluck(),
    delete: db.prepare<[string, number, number]>(`DELETE FROM notes WHERE owner = ? AND seq = ? AND version = ?`),
  };

  const timed = <T>(operation: keyof typeof STATEMENT_SPANS, query: () => T): T => {
    const end = startStatementTimer(duration, operation);
    try {
      return inClientSpan(STATEMENT_SPANS[operation].name, STATEMENT_SPANS[operation].attributes, query);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw typeof code === 'string' && UNAVAILABLE.test(code) ? new StorageUnavailableError(error) : error;
    } finally {
      end?.();
    }
  };

  return {
    async insert(owner, note) {
      const seq = timed('insert', () => statements.insert.get(note.id, owner, note.json)!);
      return { seq, id: note.id, version: 1, json: note.json };
    },
    async find(owner, id) {
      return timed('find', () => statements.find.get(owner, id));
    },
    async page(owner, beforeSeq, limit) {
      return pageOfRows(timed('page', () => statements.page.all(owner, beforeSeq, limit + 1)), limit);
    },
    async update(owner, current, json) {
      const version = timed('update', () => statements.update.get(json, owner, current.seq, current.version));
      return version === undefined ? undefined : { ...current, version, json };
    },
    async delete(owner, current) {
      return timed('delete', () => statements.delete.run(owner, current.seq, current.version).changes > 0);
    },
  };
}

/**
 * The page made of up to `limit + 1` rows of `seq` and JSON, newest first: the extra row only tells that there is more.
 *
 * @example
 * pageOfRows([[9, '{"id":"a"}'], [7, '{"id":"b"}']], 1); // { itemsJson: '{"id":"a"}', lastSeq: 9, more: true }
 */
function pageOfRows(rows: readonly (readonly [seq: number, json: string])[], limit: number): NotePage {
  const page = rows.length > limit ? rows.slice(0, limit) : rows;
  return { itemsJson: page.map(([, json]) => json).join(','), lastSeq: page.at(-1)?.[0], more: rows.length > limit };
}
