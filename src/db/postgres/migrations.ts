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
  {
    version: 2,
    name: 'notes page function',
    // A page as one call that answers one row: the page's notes joined as the response carries them, the last one's
    // `seq` (the next cursor) and whether older notes remain, instead of 21 rows for the client to parse, which cost
    // the API about 5–15 µs per page (docs/performance.md). A function, because its
    // statements are planned once per server connection and the plans kept there, where no pooler sees them: the
    // same page as one unnamed statement would be planned on every call, and the join makes that plan dearer.
    sql: `
      CREATE FUNCTION notes_page(page_owner text, before_seq bigint, page_limit integer,
                                 OUT items text, OUT last_seq bigint, OUT more boolean)
      LANGUAGE plpgsql STABLE AS $fn$
      BEGIN
        SELECT string_agg(p.json, ',' ORDER BY p.seq DESC), min(p.seq) INTO items, last_seq
          FROM (SELECT n.seq, n.json FROM notes n
                WHERE n.owner = page_owner AND n.seq < before_seq ORDER BY n.seq DESC LIMIT page_limit) p;
        more := last_seq IS NOT NULL AND EXISTS (SELECT 1 FROM notes n WHERE n.owner = page_owner AND n.seq < last_seq);
      END
      $fn$;
    `,
  },
];
