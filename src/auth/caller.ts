import type { Request } from 'express';
import type { JWTPayload } from 'express-oauth2-jwt-bearer';

/** Who is calling: what the resource code knows of the access token, and nothing more. */
export interface Caller {
  /** The user (or, for a machine token, the client) the token was issued to. */
  readonly sub: string;
  /** The application that obtained the token (`client_id`, or Auth0's `azp`). */
  readonly clientId: string | null;
  readonly issuer: string;
  /** Scopes from the `scope` claim. */
  readonly tokenScopes: readonly string[];
  /** Entries of the permissions claim, when `PERMISSIONS_CLAIM` is set. */
  readonly permissions: readonly string[];
  /** Both of the above: what scope guards check. */
  readonly granted: ReadonlySet<string>;
  readonly expiresAt: Date;
  /** When the user last actively authenticated (`auth_time`), if the token says. */
  readonly authTime: Date | undefined;
  /** The authentication context class (`acr`), if the token says. */
  readonly acr: string | undefined;
  /** How the token was presented: `dpop` means it is bound to a key the client proved it holds. */
  readonly scheme: 'bearer' | 'dpop';
  /** A machine-to-machine token acts for an application, not for a person. */
  readonly kind: 'user' | 'machine';
}

/**
 * The request's field that holds its caller: a property under a symbol that only this module and the request's class
 * (http/request-state.ts, which declares it up front) hold, rather than a WeakMap keyed by request: as private, and a
 * WeakMap entry per request is work for every garbage collection.
 */
export const CALLER = Symbol('caller');

type WithCaller = Request & { [CALLER]?: Caller };

export function setCaller(req: Request, caller: Caller): void {
  (req as WithCaller)[CALLER] = caller;
}

/** The authenticated caller of a request; only routes behind `authenticate` may ask. */
export function callerOf(req: Request): Caller {
  const caller = (req as WithCaller)[CALLER];
  if (!caller) throw new Error('callerOf() used on a route without authenticate');
  return caller;
}

/** The caller when the request was authenticated, for logs and rate limits that also see anonymous requests. */
export function findCaller(req: Request): Caller | undefined {
  return (req as WithCaller)[CALLER];
}

/** Builds the caller from a verified token's claims; `sub` and `exp` were checked to exist by then. */
export function callerFromClaims(payload: JWTPayload, permissionsClaim: string | undefined, scheme: 'bearer' | 'dpop'): Caller {
  const tokenScopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  const rawPermissions = permissionsClaim ? payload[permissionsClaim] : undefined;
  const permissions = Array.isArray(rawPermissions) ? rawPermissions.filter((p): p is string => typeof p === 'string') : [];
  const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp) ?? null;
  const sub = payload.sub as string;
  return {
    sub,
    clientId,
    issuer: payload.iss as string,
    tokenScopes,
    permissions,
    granted: new Set([...tokenScopes, ...permissions]),
    expiresAt: new Date((payload.exp as number) * 1000),
    authTime: typeof payload.auth_time === 'number' ? new Date(payload.auth_time * 1000) : undefined,
    acr: stringClaim(payload.acr),
    scheme,
    kind: isMachineToken(payload, sub, clientId) ? 'machine' : 'user',
  };
}

// Auth0 marks client-credentials tokens with `gty` and a `sub` of `<client_id>@clients`;
// RFC 9068 §2.2 has such tokens carry the client's own id as `sub`.
function isMachineToken(payload: JWTPayload, sub: string, clientId: string | null): boolean {
  const gty = payload.gty;
  const grants = Array.isArray(gty) ? gty : [gty];
  return grants.includes('client-credentials') || sub.endsWith('@clients') || (clientId !== null && sub === clientId);
}

const stringClaim = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
