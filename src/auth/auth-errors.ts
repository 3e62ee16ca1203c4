import { HttpError, ServiceUnavailableError } from '../errors.js';

/** What a native app should do next, so it need not parse the description. */
export type ClientAction = 'refresh' | 'reauthenticate' | 'fix_request' | 'retry';

/** OAuth error codes a resource server answers with (RFC 6750 §3.1, RFC 9470 §3). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

interface AuthErrorOptions {
  status: number;
  code: OAuthErrorCode | undefined;
  slug: string;
  title: string;
  description: string;
  action: ClientAction;
  scope?: string;
  serverTime?: boolean;
  /** Extra challenge parameters (RFC 9470: `max_age`, `acr_values`), also put in the body. */
  challengeParams?: Record<string, string>;
}

/**
 * An authentication or authorization failure answered with a `WWW-Authenticate` challenge.
 * The challenge itself is written by the error handler, which knows the realm.
 */
export class AuthError extends HttpError {
  readonly code: OAuthErrorCode | undefined;
  readonly scope: string | undefined;
  readonly challengeParams: Readonly<Record<string, string>>;

  constructor(options: AuthErrorOptions) {
    super({
      status: options.status,
      slug: options.slug,
      title: options.title,
      detail: options.description,
      extensions: {
        ...(options.code ? { error: options.code } : {}),
        action: options.action,
        ...(options.scope ? { scope: options.scope } : {}),
        ...(options.serverTime ? { server_time: new Date().toISOString() } : {}),
        ...options.challengeParams,
      },
    });
    this.code = options.code;
    this.scope = options.scope;
    this.challengeParams = options.challengeParams ?? {};
  }
}

/** No credentials at all, or an authentication scheme this API does not use: a challenge with no error (RFC 6750 §3.1). */
export class MissingCredentialsError extends AuthError {
  constructor() {
    super({
      status: 401,
      code: undefined,
      slug: 'unauthorized',
      title: 'Unauthorized',
      description: 'This request needs an access token in the Authorization header, with a scheme this API accepts (see WWW-Authenticate).',
      action: 'reauthenticate',
    });
  }
}

/**
 * The answer to every request without credentials (or with a scheme this API does not take). It says nothing about
 * the request, so it is one object: its challenge and problem body are built once, and no stack is captured per
 * request, which such requests come in floods of (scanners, apps that lost their token).
 */
export const MISSING_CREDENTIALS = new MissingCredentialsError();

export class InvalidRequestError extends AuthError {
  constructor(description: string) {
    super({ status: 400, code: 'invalid_request', slug: 'invalid-request', title: 'Invalid Request', description, action: 'fix_request' });
  }
}

export class InvalidTokenError extends AuthError {
  /** True when the same token would fail the same way later too (a bad signature, not an expiry or a clock issue). */
  readonly permanent: boolean;

  constructor(description: string, options: { action?: ClientAction; serverTime?: boolean; permanent?: boolean } = {}) {
    const { action = 'reauthenticate', serverTime = false, permanent = false } = options;
    super({ status: 401, code: 'invalid_token', slug: 'invalid-token', title: 'Invalid Token', description, action, serverTime });
    this.permanent = permanent;
  }
}

/** The token names a key its issuer does not publish (not yet, or not any more): a later token may be luckier. */
export class UnknownKeyError extends InvalidTokenError {
  constructor() {
    super('The access token is signed with a key this API does not know.');
  }
}

/** The issuer could not be reached to check a token's key: 503, and the client may retry (not a 401: the token may be fine). */
export function issuerUnreachable(cause?: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('The authorization server could not be reached to check the access token; retry shortly.', {
    cause,
    extensions: { action: 'retry' },
  });
}

export class InsufficientScopeError extends AuthError {
  constructor(required: readonly string[]) {
    const scope = required.join(' ');
    super({
      status: 403,
      code: 'insufficient_scope',
      slug: 'insufficient-scope',
      title: 'Insufficient Scope',
      description: `The access token does not grant ${scope}.`,
      action: 'reauthenticate',
      scope,
    });
  }
}

/** A DPoP proof that is missing, malformed, replayed, or does not match this request (RFC 9449 §7.1). */
export class InvalidDpopProofError extends AuthError {
  constructor(description: string) {
    super({ status: 401, code: 'invalid_dpop_proof', slug: 'invalid-dpop-proof', title: 'Invalid DPoP Proof', description, action: 'fix_request' });
  }
}

/** A DPoP proof without the server's current nonce, when this API requires one (RFC 9449 §9). */
export class UseDpopNonceError extends AuthError {
  constructor() {
    super({
      status: 401,
      code: 'use_dpop_nonce',
      slug: 'use-dpop-nonce',
      title: 'Use DPoP Nonce',
      description: 'This API requires a DPoP proof with its current nonce: make a new proof with the nonce of the DPoP-Nonce header.',
      action: 'retry',
    });
  }
}

/**
 * The answer to every proof without a current nonce: it says nothing about the request (the nonce itself is a
 * header set per response), so, as for missing credentials, one object whose challenge and body are built once.
 */
export const USE_DPOP_NONCE = new UseDpopNonceError();

/** The token is valid, but the login behind it is too old or too weak for this action (RFC 9470 §3). */
export class InsufficientUserAuthenticationError extends AuthError {
  constructor(requirement: { maxAge?: number | undefined; acrValues?: readonly string[] | undefined }, description: string) {
    super({
      status: 401,
      code: 'insufficient_user_authentication',
      slug: 'insufficient-user-authentication',
      title: 'Insufficient User Authentication',
      description,
      action: 'reauthenticate',
      challengeParams: {
        ...(requirement.acrValues ? { acr_values: requirement.acrValues.join(' ') } : {}),
        ...(requirement.maxAge !== undefined ? { max_age: String(requirement.maxAge) } : {}),
      },
    });
  }
}
