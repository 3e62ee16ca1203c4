import { describe, expect, it } from '@jest/globals';

/** An answer as supertest gives it. */
export interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

/** Problem members that differ on every request: left out when two answers are compared. */
const VARYING = new Set(['request_id', 'server_time', 'instance']);

/** What a client sees of a refusal (status, problem body, challenge), but what differs per request; of a success, its status. */
export function seenOf(res: Answer): { status: number; problem?: Record<string, unknown>; challenge?: string | undefined } {
  if (res.status < 400 || res.status === 404) return { status: res.status };
  const problem = Object.fromEntries(Object.entries(res.body as Record<string, unknown>).filter(([name]) => !VARYING.has(name)));
  return { status: res.status, problem, challenge: res.headers['www-authenticate'] };
}

/** A case of the table run with a JWT and with an opaque token. */
export interface FormatCase {
  title: string;
  expected: { status: number; error?: string; scope?: string };
}

/**
 * Runs each case with a JWT and with an opaque token (`run`): the JWT's answer must be the one expected, and the opaque
 * token's the same as the JWT's, as a client sees it.
 */
export function expectSameAnswerForBothFormats<C extends FormatCase>(cases: readonly C[], run: (format: 'jwt' | 'opaque', testCase: C) => Promise<Answer>): void {
  describe.each(cases)('when $title', (testCase) => {
    it('then the opaque token gets the answer the JWT gets', async () => {
      const [jwt, opaque] = [await run('jwt', testCase), await run('opaque', testCase)];
      const body = jwt.body as Record<string, unknown>;
      expect(jwt.status).toBe(testCase.expected.status);
      if (testCase.expected.error) expect(body.error).toBe(testCase.expected.error);
      if (testCase.expected.scope) expect(body.scope).toBe(testCase.expected.scope);
      expect(seenOf(opaque)).toEqual(seenOf(jwt));
    });
  });
}
