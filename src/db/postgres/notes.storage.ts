import type pg from 'pg';
import type { Histogram } from 'prom-client';
import type { NotePageRow, NoteRow, NotesStorage } from '../../notes/notes.storage.js';
import { unavailableAs503 } from './pool.js';
import type { Statements } from './statements.js';

interface PgNoteRow {
  seq: string;
  id: string;
  owner: string;
  title: string;
  body: string;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const ROW = 'seq, id, owner, title, body, version, created_at, updated_at';

/** The JSON the API returns for a note, in toNote's field order, stored with every write (see migration 1). */
export const noteJson = (id: string, title: string, body: string, createdAt: string, updatedAt: string) =>
  JSON.stringify({ id, title, body, created_at: createdAt, updated_at: updatedAt });

/**
 * Notes in PostgreSQL. Each operation is one statement through the pool (autocommit: its promise resolves after the
 * commit), unnamed (a named prepared statement belongs to one server connection, which a transaction pooler does not
 * keep: see statements.ts), and scoped by `owner`. Conditional writes are one
 * `UPDATE/DELETE … WHERE version = $n`: under READ COMMITTED, a second writer waits for the first one's row lock,
 * then re-checks the condition against the committed row, so of two writers holding one version exactly one wins.
 * A database that cannot be reached, or does not answer in time, is a 503.
 */
export class PostgresNotesStorage implements NotesStorage {
  constructor(
    private readonly statements: Statements,
    private readonly duration?: Histogram<'operation'>,
  ) {}

  private async query<R extends pg.QueryResultRow>(operation: string, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const end = this.duration?.startTimer({ operation });
    try {
      return await unavailableAs503(this.statements.query<R>(config));
    } finally {
      end?.();
    }
  }

  async insert(owner: string, note: { id: string; title: string; body: string; now: string }): Promise<NoteRow> {
    const { rows } = await this.query<{ seq: string }>('insert', {
      text: `INSERT INTO notes (id, owner, title, body, created_at, updated_at, json) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING seq`,
      values: [note.id, owner, note.title, note.body, note.now, noteJson(note.id, note.title, note.body, note.now, note.now)],
    });
    return { seq: Number(rows[0]!.seq), id: note.id, owner, title: note.title, body: note.body, version: 1, created_at: note.now, updated_at: note.now };
  }

  async find(owner: string, id: string): Promise<NoteRow | undefined> {
    const { rows } = await this.query<PgNoteRow>('find', {
      text: `SELECT ${ROW} FROM notes WHERE owner = $1 AND id = $2`,
      values: [owner, id],
    });
    const row = rows[0];
    return row && { ...row, seq: Number(row.seq), created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
  }

  async page(owner: string, beforeSeq: number, limit: number): Promise<NotePageRow[]> {
    const { rows } = await this.query<[string, string]>('page', {
      text: `SELECT seq, json FROM notes WHERE owner = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
      values: [owner, beforeSeq, limit],
      rowMode: 'array',
    } as pg.QueryConfig);
    return rows.map(([seq, json]) => [Number(seq), json]);
  }

  async update(owner: string, current: NoteRow, changes: { title: string; body: string; now: string }): Promise<NoteRow | undefined> {
    const { rows } = await this.query<{ version: number }>('update', {
      text: `UPDATE notes SET title = $4, body = $5, updated_at = $6, version = version + 1, json = $7
             WHERE owner = $1 AND seq = $2 AND version = $3 RETURNING version`,
      values: [
        owner,
        current.seq,
        current.version,
        changes.title,
        changes.body,
        changes.now,
        noteJson(current.id, changes.title, changes.body, current.created_at, changes.now),
      ],
    });
    const row = rows[0];
    return row && { ...current, title: changes.title, body: changes.body, version: row.version, updated_at: changes.now };
  }

  async delete(owner: string, current: NoteRow): Promise<boolean> {
    const result = await this.query('delete', {
      text: `DELETE FROM notes WHERE owner = $1 AND seq = $2 AND version = $3`,
      values: [owner, current.seq, current.version],
    });
    return (result.rowCount ?? 0) > 0;
  }
}
