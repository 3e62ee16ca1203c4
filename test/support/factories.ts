/** A valid note to create, with any field overridden. */
export function buildNote(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { title: 'Groceries', body: 'Milk, eggs, coffee', ...overrides };
}

/** Bob: a second user, for ownership checks. */
export const BOB = { sub: 'auth0|bob' } as const;
