import { createHash, timingSafeEqual } from 'node:crypto';
import type { Account } from 'oidc-provider';

/** A development user: `login` signs in, `sub` is what tokens carry. */
export interface DevUser {
  readonly sub: string;
  readonly login: string;
  readonly password: string;
}

/** The development users. Their passwords are public: this server must never face a network. */
export const DEV_USERS: readonly DevUser[] = Object.freeze([
  { sub: 'alice', login: 'alice', password: 'alice-dev-password' },
  { sub: 'bob', login: 'bob', password: 'bob-dev-password' },
]);

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The user with this login and password, or `undefined`; the password comparison takes constant time. */
export function authenticate(login: unknown, password: unknown): DevUser | undefined {
  if (typeof login !== 'string' || typeof password !== 'string') return undefined;
  const user = DEV_USERS.find((candidate) => candidate.login === login);
  const expected = digest(user?.password ?? 'no such user');
  return timingSafeEqual(expected, digest(password)) && user ? user : undefined;
}

/** oidc-provider's `findAccount`: the account behind a `sub`, whose only claim is `sub`. */
export function findAccount(_ctx: unknown, sub: string): Account | undefined {
  const user = DEV_USERS.find((candidate) => candidate.sub === sub);
  return user && { accountId: user.sub, claims: async () => ({ sub: user.sub }) };
}
