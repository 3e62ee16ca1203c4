import type pg from 'pg';
import type { Histogram } from 'prom-client';
import type { NotePageRow, NotesStorage, StoredNote } from '../../notes/notes.storage.js';
import { columnsFromJson } from './note-columns.js';
import { reportingUnavailable } from './pool.js';

const written = columnsFromJson('$3::text::jsonb');
const INSERT = `INSERT INTO notes (id, owner, json, title, body, created_at, updated_at)
  VALUES ($1, $2, $3::text, ${written.title}, ${written.body}, ${written.created_at}, ${written.updated_at}) RETURNING seq`;
const changed = columnsFromJson('$4::text::jsonb');
const UPDATE = `UPDATE notes SET json = $4::text, version = version + 1, title = ${changed.title}, body = ${changed.body}, updated_at = ${changed.updated_at}
  WHERE owner = $1 AND seq = $2 AND version = $3 RETURNING version`;

/**
 * Notes in PostgreSQL. Each operation is one statement through the pool (autocommit: its promise resolves after the
 * commit), prepared once per connection (named), and scoped by `owner`. Conditional writes are one
 * `UPDATE/DELETE … WHERE version = $n`: under READ COMMITTED, a second writer waits for the first one's row lock,
 * then re-checks the condition against the committed row, so of two writers holding one version exactly one wins.
 * A database that cannot be reached, or does not answer in time, rejects with `StorageUnavailableError`.
 */
export class PostgresNotesStorage implements NotesStorage {
  constructor(
    private readonly pool: pg.Pool,
    private readonly duration?: Histogram<'operation'>,
  ) {}

  private async query<R extends pg.QueryResultRow>(operation: string, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const end = this.duration?.startTimer({ operation });
    try {
      return await reportingUnavailable(this.pool.query<R>(config));
    } finally {
      end?.();
    }
  }

  async insert(owner: string, note: { id: string; json: string }): Promise<StoredNote> {
    const { rows } = await this.query<{ seq: string }>('insert', {
      name: 'notes-insert',
      text: INSERT,
      values: [note.id, owner, note.json],
    });
    return { seq: Number(rows[0]!.seq), id: note.id, version: 1, json: note.json };
  }

  async find(owner: string, id: string): Promise<StoredNote | undefined> {
    const { rows } = await this.query<{ seq: string; id: string; version: number; json: string }>('find', {
      name: 'notes-find',
      text: `SELECT seq, id, version, json FROM notes WHERE owner = $1 AND id = $2`,
      values: [owner, id],
    });
    const row = rows[0];
    return row && { ...row, seq: Number(row.seq) };
  }

  async page(owner: string, beforeSeq: number, limit: number): Promise<NotePageRow[]> {
    const { rows } = await this.query<[string, string]>('page', {
      name: 'notes-page',
      text: `SELECT seq, json FROM notes WHERE owner = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
      values: [owner, beforeSeq, limit],
      rowMode: 'array',
    } as pg.QueryConfig);
    return rows.map(([seq, json]) => [Number(seq), json]);
  }

  async update(owner: string, current: StoredNote, json: string): Promise<StoredNote | undefined> {
    const { rows } = await this.query<{ version: number }>('update', {
      name: 'notes-update',
      text: UPDATE,
      values: [owner, current.seq, current.version, json],
    });
    const row = rows[0];
    return row && { ...current, version: row.version, json };
  }

  async delete(owner: string, current: StoredNote): Promise<boolean> {
    const result = await this.query('delete', {
      name: 'notes-delete',
      text: `DELETE FROM notes WHERE owner = $1 AND seq = $2 AND version = $3`,
      values: [owner, current.seq, current.version],
    });
    return (result.rowCount ?? 0) > 0;
  }
}
