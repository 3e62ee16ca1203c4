/**
 * The schema's history, oldest first. Applied in order at start-up, together in one transaction;
 * `PRAGMA user_version` records the last one applied. Never edit a migration that has shipped: add one.
 */
export const migrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'create notes',
    sql: `
      CREATE TABLE notes (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT    NOT NULL UNIQUE,
        owner      TEXT    NOT NULL,
        title      TEXT    NOT NULL,
        body       TEXT    NOT NULL,
        version    INTEGER NOT NULL DEFAULT 1,
        created_at TEXT    NOT NULL,
        updated_at TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX notes_owner_seq ON notes (owner, seq DESC);
    `,
  },
  {
    version: 2,
    name: 'store each note as the JSON the API returns',
    // Lists are read far more often than notes are written: serialising a note once, when it is written, made a page
    // of 20 cost 27 µs instead of 68 µs (docs/performance.md). A STORED generated column cannot be added by ALTER
    // TABLE, so the table is rebuilt; its AUTOINCREMENT high-water mark is carried over, so no seq is ever reused.
    // The object's fields and their order are the API's Note (NotesService's toNote); a test holds the two equal.
    sql: `
      CREATE TABLE notes_v2 (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT    NOT NULL UNIQUE,
        owner      TEXT    NOT NULL,
        title      TEXT    NOT NULL,
        body       TEXT    NOT NULL,
        version    INTEGER NOT NULL DEFAULT 1,
        created_at TEXT    NOT NULL,
        updated_at TEXT    NOT NULL,
        json       TEXT    NOT NULL GENERATED ALWAYS AS (
          json_object('id', id, 'title', title, 'body', body, 'created_at', created_at, 'updated_at', updated_at)
        ) STORED
      ) STRICT;
      INSERT INTO notes_v2 (seq, id, owner, title, body, version, created_at, updated_at)
        SELECT seq, id, owner, title, body, version, created_at, updated_at FROM notes;
      DELETE FROM sqlite_sequence WHERE name = 'notes_v2';
      INSERT INTO sqlite_sequence (name, seq) SELECT 'notes_v2', seq FROM sqlite_sequence WHERE name = 'notes';
      DROP TABLE notes;
      ALTER TABLE notes_v2 RENAME TO notes;
      CREATE INDEX notes_owner_seq ON notes (owner, seq DESC);
    `,
  },
];
