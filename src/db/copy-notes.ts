import fs from 'node:fs';
import Database from 'better-sqlite3';
import { noteJson } from '../notes/note-json.js';
import { parseDatabaseUrl, redactDatabaseUrl } from '../database-url.js';
import { migrate } from './postgres/migrate.js';
import { columnsFromJson } from './postgres/note-columns.js';
import { connectPool } from './postgres/pool.js';

/** A bad argument or a source/target that cannot be used: the command prints the message and exits 1. */
export class CopyError extends Error {
  override name = 'CopyError';
}

export interface CopyResult {
  /** Notes inserted into PostgreSQL by this run. */
  copied: number;
  /** Notes already there (same id), left as they were. */
  alreadyThere: number;
  /** The target URL, password redacted. */
  to: string;
}

/** A note as the copy reads it: all but its `seq`, which PostgreSQL assigns in the same order. */
interface CopiedNote {
  id: string;
  owner: string;
  version: number;
  json: string;
}

/** A note as schema version 1 kept it, before notes were stored as their JSON. */
interface Version1Note {
  id: string;
  owner: string;
  title: string;
  body: string;
  version: number;
  created_at: string;
  updated_at: string;
}

const BATCH = 500;

/**
 * Copies every note of a SQLite database (read-only; any schema version) into PostgreSQL, bringing the PostgreSQL
 * schema up to date first. Ids, owners, titles, bodies, versions (so ETags) and timestamps are kept; notes are inserted
 * oldest first, so their order (newest first, by seq) is kept too, after any notes PostgreSQL already has. One
 * transaction: a failed copy leaves nothing. A note whose id is already there is left alone, so running it twice
 * copies nothing the second time.
 */
export async function copyNotes(options: { from: string; to: string }): Promise<CopyResult> {
  const source = parseOrCopyError(options.from, '--from');
  if (source.kind !== 'sqlite' || source.path === ':memory:') throw new CopyError('--from must name a SQLite database file (a path, file: or sqlite:)');
  const target = parseOrCopyError(options.to, '--to');
  if (target.kind !== 'postgres') throw new CopyError('--to must be a postgres:// or postgresql:// URL');
  if (!fs.existsSync(source.path)) throw new CopyError(`--from: no SQLite database at ${source.path}`);
  const to = redactDatabaseUrl(target.url);

  const sqlite = new Database(source.path, { readonly: true, fileMustExist: true });
  const hasNotes = sqlite.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notes'`).get();
  if (!hasNotes) {
    sqlite.close();
    throw new CopyError(`--from: ${source.path} holds no notes table (is it this API's database?)`);
  }
  const cannotOpen = (error: unknown) => new CopyError(`--to: cannot open PostgreSQL at ${to}: ${(error as Error).message}`, { cause: error });
  const pool = await connectPool({ url: target.url, size: 1, connectTimeoutMs: 10_000, statementTimeoutMs: 300_000 }).catch((error: unknown) => {
    sqlite.close();
    throw cannotOpen(error);
  });
  pool.on('error', () => {});
  try {
    await migrate(pool).catch((error: unknown) => {
      throw cannotOpen(error);
    });
    const client = await pool.connect();
    let copied = 0;
    let seen = 0;
    try {
      await client.query('BEGIN');
      const rows = readNotes(sqlite);
      let batch: CopiedNote[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        copied += await insertBatch(client, batch);
        seen += batch.length;
        batch = [];
      };
      for (const row of rows) {
        batch.push(row);
        if (batch.length === BATCH) await flush();
      }
      await flush();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    return { copied, alreadyThere: seen - copied, to };
  } finally {
    sqlite.close();
    await pool.end();
  }
}

/**
 * The source's notes, oldest first, each with the JSON it is stored as: as written, or (schema version 1, which kept
 * no JSON) made by `noteJson` from its columns, timestamps as the API writes them (toISOString).
 */
function readNotes(sqlite: Database.Database): Iterable<CopiedNote> {
  const columns = sqlite.prepare<[], string>(`SELECT name FROM pragma_table_info('notes')`).pluck().all();
  if (columns.includes('json')) {
    return sqlite.prepare<[], CopiedNote>(`SELECT id, owner, version, json FROM notes ORDER BY seq`).iterate();
  }
  const rows = sqlite.prepare<[], Version1Note>(`SELECT id, owner, title, body, version, created_at, updated_at FROM notes ORDER BY seq`).iterate();
  return (function* () {
    for (const { id, owner, title, body, version, created_at, updated_at } of rows) {
      const created = new Date(created_at).toISOString();
      const updated = new Date(updated_at).toISOString();
      yield { id, owner, version, json: noteJson({ id, title, body, created_at: created, updated_at: updated }) };
    }
  })();
}

const copied = columnsFromJson('json::jsonb');

async function insertBatch(client: { query: (text: string, values: unknown[]) => Promise<{ rowCount: number | null }> }, notes: CopiedNote[]): Promise<number> {
  // One statement per batch; WITH ORDINALITY … ORDER BY keeps the batch's order as the identity values are drawn.
  const result = await client.query(
    `INSERT INTO notes (id, owner, version, json, title, body, created_at, updated_at)
     SELECT id, owner, version, json, ${copied.title}, ${copied.body}, ${copied.created_at}, ${copied.updated_at}
     FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS source (id, owner, version, json, position)
     ORDER BY position
     ON CONFLICT (id) DO NOTHING`,
    [notes.map((note) => note.id), notes.map((note) => note.owner), notes.map((note) => note.version), notes.map((note) => note.json)],
  );
  return result.rowCount ?? 0;
}

function parseOrCopyError(value: string, option: string) {
  try {
    return parseDatabaseUrl(value);
  } catch (error) {
    throw new CopyError(`${option} ${(error as Error).message}`, { cause: error });
  }
}
