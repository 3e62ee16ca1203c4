import Database from 'better-sqlite3';
import { parseDatabaseUrl } from '../../src/database-url.js';
import type { TestApi } from './api.js';
import { connectTestDatabase } from './postgres.js';

/**
 * A note's owner and title as the database holds them, read through a connection of its own (not the API's), so
 * what it sees is what was committed.
 */
export async function readStoredNote(api: TestApi, id: string): Promise<{ owner: string; title: string } | undefined> {
  const target = parseDatabaseUrl(api.databaseUrl);
  if (target.kind === 'sqlite') {
    const db = new Database(target.path, { readonly: true });
    try {
      return db.prepare<[string], { owner: string; title: string }>(`SELECT owner, json_extract(json, '$.title') AS title FROM notes WHERE id = ?`).get(id);
    } finally {
      db.close();
    }
  }
  const client = await connectTestDatabase(target.url);
  try {
    const { rows } = await client.query<{ owner: string; title: string }>(`SELECT owner, json::jsonb ->> 'title' AS title FROM notes WHERE id = $1`, [id]);
    return rows[0];
  } finally {
    await client.end();
  }
}
