/**
 * The notes table's `title`, `body`, `created_at` and `updated_at`, as SQL expressions of a note's JSON (`json`, a
 * jsonb expression). The API reads only the JSON; replicas of earlier versions, which a rolling deploy runs beside
 * this one, read these columns, so every write keeps them equal to the JSON it stores, until a migration drops them.
 */
export function columnsFromJson(json: string): { title: string; body: string; created_at: string; updated_at: string } {
  return {
    title: `(${json} ->> 'title')`,
    body: `(${json} ->> 'body')`,
    created_at: `(${json} ->> 'created_at')::timestamptz`,
    updated_at: `(${json} ->> 'updated_at')::timestamptz`,
  };
}
