/** One challenge of a `WWW-Authenticate` field: its scheme and auth-params (RFC 9110 §11.6.1). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` field (quoted-string values, as this API writes them) into its challenges. */
export function parseChallenges(field: string | undefined): Challenge[] {
  if (!field) return [];
  const challenges: Challenge[] = [];
  const token = /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*)))?\s*,?/y;
  let current: Challenge | undefined;
  while (token.lastIndex < field.length) {
    const start = token.lastIndex;
    const match = token.exec(field);
    if (!match || token.lastIndex === start) throw new Error(`unparseable WWW-Authenticate: ${field}`);
    const [, name, hasValue, quoted, bare] = match;
    if (hasValue) {
      if (!current) throw new Error(`parameter before scheme: ${field}`);
      current.params[name!] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!;
    } else {
      current = { scheme: name!, params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

/** The challenge of one scheme (case-insensitive), or undefined. */
export function challengeOf(field: string | undefined, scheme: string): Challenge | undefined {
  return parseChallenges(field).find((c) => c.scheme.toLowerCase() === scheme.toLowerCase());
}
