/** One step of the PostgreSQL schema's history. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The PostgreSQL schema's history, oldest first; `schema_migrations` records each one applied. Each is applied in a
 * transaction of its own (PostgreSQL's DDL is transactional: a failed one leaves nothing behind). Tables are created
 * unqualified, in the connection's schema (its `search_path`). Never edit a migration that has shipped: add one.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'create notes',
    // As in SQLite, each note keeps the JSON the API returns (written with every write), so a page is the owner's index range and a join of strings. `seq` orders the notes and backs the
    // cursor; an identity column never hands a value out twice.
    sql: `
      CREATE TABLE notes (
        seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id         uuid        NOT NULL UNIQUE,
        owner      text        NOT NULL,
        title      text        NOT NULL,
        body       text        NOT NULL,
        version    integer     NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        json       text        NOT NULL
      );
      CREATE INDEX notes_owner_seq ON notes (owner, seq DESC);
    `,
  },
];
