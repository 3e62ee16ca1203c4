/** A note as the API returns it (openapi.yaml's `Note`). */
export interface Note {
  id: string;
  title: string;
  body: string;
  created_at: string;
  updated_at: string;
}

/**
 * The one producer of a note's stored form: the JSON text the API returns for it, its fields in `Note`'s order. Both
 * storage engines and `db:copy` keep this text as it is and hand it back unread, so a page of notes is a join of
 * stored strings. Adding a field to a note: `Note`, this function, and one migration per engine that gives the notes
 * already stored the field (nothing else in `src/db/`).
 */
export function noteJson(note: Note): string {
  return JSON.stringify({ id: note.id, title: note.title, body: note.body, created_at: note.created_at, updated_at: note.updated_at });
}

/** A note's fields, read back from the text `noteJson` wrote. */
export function noteFromJson(json: string): Note {
  return JSON.parse(json) as Note;
}
