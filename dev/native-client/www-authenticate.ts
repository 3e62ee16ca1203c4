/** One challenge of a `WWW-Authenticate` field (RFC 9110 §11.6.1). */
export interface Challenge {
  /** The auth-scheme as sent (`Bearer`, `DPoP`…); compare it case-insensitively. */
  scheme: string;
  /** Its auth-params, names lowercased (they are case-insensitive), quoted-string values unescaped. */
  params: Record<string, string>;
  /** Its token68, for schemes that use one instead of parameters (`Basic` does not here, but may). */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Parses a `WWW-Authenticate` field value into its challenges. A field can hold several, each with its
 * parameters, separated by commas as the parameters are: `Bearer realm="api", error="invalid_token", DPoP
 * algs="ES256", resource_metadata="…"` is two challenges (RFC 9110 §11.6.1). Several fields of a response are
 * joined with commas first (fetch's `Headers.get` does that). Throws on a malformed field.
 *
 * @example
 * parseWwwAuthenticate(response.headers.get('www-authenticate'))
 * // [{ scheme: 'Bearer', params: { realm: 'api', … } }, { scheme: 'DPoP', params: { algs: 'ES256', … } }]
 */
export function parseWwwAuthenticate(field: string | null | undefined): Challenge[] {
  const text = field ?? '';
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`malformed WWW-Authenticate (${what} at character ${at + 1}): ${text.slice(0, 200)}`);
  };
  const skipSpaces = () => {
    while (text[at] === ' ' || text[at] === '\t') at++;
  };
  const skipSeparators = () => {
    while (text[at] === ' ' || text[at] === '\t' || text[at] === ',') at++;
  };
  const readToken = (): string => {
    const start = at;
    while (at < text.length && TCHAR.test(text[at]!)) at++;
    return text.slice(start, at);
  };
  const readQuoted = (): string => {
    at++; // the opening quote
    let value = '';
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\\') at++;
      if (at >= text.length) break;
      value += text[at++];
    }
    if (text[at] !== '"') fail('unterminated quoted-string');
    at++;
    return value;
  };
  /** Whether an auth-param (`name = value`) starts here; leaves the position unchanged. */
  const paramAhead = (): boolean => {
    const start = at;
    const name = readToken();
    skipSpaces();
    let param = false;
    if (name && text[at] === '=') {
      at++;
      skipSpaces();
      // After "=", a value; "==" or "=" at the end is the padding of a token68 instead.
      param = text[at] === '"' || (at < text.length && TCHAR.test(text[at]!) && text[at] !== '=');
    }
    at = start;
    return param;
  };
  const atChallengeEnd = () => {
    skipSpaces();
    return at >= text.length || text[at] === ',';
  };

  const challenges: Challenge[] = [];
  skipSeparators();
  while (at < text.length) {
    const scheme = readToken();
    if (!scheme) fail('expected an auth-scheme');
    // No prototype: a parameter named `__proto__` or `constructor` is just a parameter.
    const challenge: Challenge = { scheme, params: Object.create(null) as Record<string, string> };
    challenges.push(challenge);
    if (atChallengeEnd()) {
      skipSeparators();
      continue;
    }
    if (!paramAhead()) {
      const start = at;
      while (at < text.length && TOKEN68_CHAR.test(text[at]!)) at++;
      while (text[at] === '=') at++;
      if (at === start || !atChallengeEnd()) fail('expected auth-params or a token68');
      challenge.token68 = text.slice(start, at);
      skipSeparators();
      continue;
    }
    // auth-params, until something that is not one: the next challenge's scheme.
    for (;;) {
      const name = readToken().toLowerCase();
      skipSpaces();
      at++; // "="
      skipSpaces();
      const value = text[at] === '"' ? readQuoted() : readToken();
      if (Object.hasOwn(challenge.params, name)) fail(`parameter ${name} twice in one challenge`);
      challenge.params[name] = value;
      if (!atChallengeEnd()) fail('expected "," between parameters');
      skipSeparators();
      if (at >= text.length || !paramAhead()) break;
    }
  }
  return challenges;
}

/** The first challenge of `scheme` (case-insensitive), if any. */
export function challengeFor(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((challenge) => challenge.scheme.toLowerCase() === scheme.toLowerCase());
}
