/**
 * The schema's history, oldest first. Applied in order at start-up, each in its own transaction;
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
];
