/** A note's entity tag: strong, and changed by every write (RFC 9110 §8.8.3). */
export function etagOf(version: number): string {
  return `"v${version}"`;
}

const ENTITY_TAG = /\s*(W\/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)/gy;

/** The entity tags of an `If-Match`/`If-None-Match` field, or `*`; `undefined` when the field is malformed. */
function parseTags(field: string): { any: true } | { tags: Array<{ weak: boolean; tag: string }> } | undefined {
  if (field.trim() === '*') return { any: true };
  const tags: Array<{ weak: boolean; tag: string }> = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < field.length) {
    const match = ENTITY_TAG.exec(field);
    if (!match) return undefined;
    tags.push({ weak: match[1] !== undefined, tag: match[2]! });
  }
  return tags.length > 0 ? { tags } : undefined;
}

/** `If-Match` uses the strong comparison (RFC 9110 §13.1.1): a weak or malformed tag never matches. */
export function ifMatchPasses(field: string | undefined, current: string): boolean {
  if (field === undefined) return true;
  const parsed = parseTags(field);
  if (!parsed) return false;
  return 'any' in parsed || parsed.tags.some(({ weak, tag }) => !weak && tag === current);
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): true when the client's copy is current. */
export function ifNoneMatchHits(field: string | undefined, current: string): boolean {
  if (field === undefined) return false;
  const parsed = parseTags(field);
  if (!parsed) return false;
  return 'any' in parsed || parsed.tags.some(({ tag }) => tag === current);
}
