import type pg from 'pg';
import type { Histogram } from 'prom-client';
import { startStatementTimer } from '../statement-timer.js';
import type { NotesStorage, StoredNote } from '../../notes/notes.storage.js';
import { columnsFromJson } from './note-columns.js';
import { reportingUnavailable } from './pool.js';
import type { Statements } from './statements.js';

const written = columnsFromJson('$3::text::jsonb');
const INSERT = `INSERT INTO notes (id, owner, json, title, body, created_at, updated_at)
  VALUES ($1, $2, $3::text, ${written.title}, ${written.body}, ${written.created_at}, ${written.updated_at}) RETURNING seq`;
const changed = columnsFromJson('$4::text::jsonb');
const UPDATE = `UPDATE notes SET json = $4::text, version = version + 1, title = ${changed.title}, body = ${changed.body}, updated_at = ${changed.updated_at}
  WHERE owner = $1 AND seq = $2 AND version = $3 RETURNING version`;

/**
 * Notes in PostgreSQL. Each operation is one statement through the pool (autocommit: its promise resolves after the
 * commit), unnamed (a named prepared statement belongs to one server connection, which a transaction pooler does not
 * keep: see statements.ts), and scoped by `owner`. Conditional writes are one
 * `UPDATE/DELETE … WHERE version = $n`: under READ COMMITTED, a second writer waits for the first one's row lock,
 * then re-checks the condition against the committed row, so of two writers holding one version exactly one wins.
 * A database that cannot be reached, or does not answer in time, rejects with `StorageUnavailableError`.
 *
 * @example
 * const notes = postgresNotesStorage(boundedStatements(pool, bound, timeoutMs), metrics.dbQueryDuration);
 */
export function postgresNotesStorage(statements: Statements, duration?: Histogram<'operation'>): NotesStorage {
  const query = async <R extends pg.QueryResultRow>(operation: string, config: pg.QueryConfig): Promise<pg.QueryResult<R>> => {
    const end = startStatementTimer(duration, operation);
    try {
      return await reportingUnavailable(statements.query<R>(config));
    } finally {
      end?.();
    }
  };

  return {
    async insert(owner, note) {
      const { rows } = await query<{ seq: string }>('insert', { text: INSERT, values: [note.id, owner, note.json] });
      return { seq: Number(rows[0]!.seq), id: note.id, version: 1, json: note.json };
    },
    async find(owner, id) {
      const { rows } = await query<Omit<StoredNote, 'seq'> & { seq: string }>('find', {
        text: `SELECT seq, id, version, json FROM notes WHERE owner = $1 AND id = $2`,
        values: [owner, id],
      });
      const row = rows[0];
      return row && { ...row, seq: Number(row.seq) };
    },
    async page(owner, beforeSeq, limit) {
      // One row (migration 2's function): the notes joined, the last one's seq, whether there are more.
      const { rows } = await query<[string | null, string | null, boolean]>('page', {
        text: `SELECT items, last_seq, more FROM notes_page($1, $2, $3)`,
        values: [owner, beforeSeq, limit],
        rowMode: 'array',
      } as pg.QueryConfig);
      const [items, lastSeq, more] = rows[0]!;
      return { itemsJson: items ?? '', lastSeq: lastSeq === null ? undefined : Number(lastSeq), more };
    },
    async update(owner, current, json) {
      const { rows } = await query<{ version: number }>('update', {
        text: UPDATE,
        values: [owner, current.seq, current.version, json],
      });
      const row = rows[0];
      return row && { ...current, version: row.version, json };
    },
    async delete(owner, current) {
      const result = await query('delete', {
        text: `DELETE FROM notes WHERE owner = $1 AND seq = $2 AND version = $3`,
        values: [owner, current.seq, current.version],
      });
      return (result.rowCount ?? 0) > 0;
    },
  };
}
