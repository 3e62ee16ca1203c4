import type { IRouter, RequestHandler } from 'express';
import { callerOf, type Caller } from '../auth/index.js';
import { sendJsonText } from '../http/json-response.js';
import { allowOnly, inSequence } from '../http/routing.js';

/**
 * `GET /v1/me`: what the API understood of the caller's token; any valid token may ask. Registered on the app
 * itself, not on a Router of its own: every Router a request enters costs it (see docs/performance.md).
 */
export function meRoutes(router: IRouter, deps: { authenticate: RequestHandler }): void {
  router
    .route('/v1/me')
    .get(
      inSequence(deps.authenticate, (req, res) => {
        sendJsonText(res, meJson(callerOf(req)));
      }),
    )
    .all(allowOnly('GET'));
}

// The body depends on the token alone, and the token cache hands out one Caller per token: it is serialised once
// per cached token, not on every request (an app asks for /v1/me at every start). Gone with its Caller.
const bodies = new WeakMap<Caller, string>();

function meJson(caller: Caller): string {
  let json = bodies.get(caller);
  if (json === undefined) {
    json = JSON.stringify({
      sub: caller.sub,
      client_id: caller.clientId,
      scopes: caller.tokenScopes,
      permissions: caller.permissions,
      expires_at: caller.expiresAt.toISOString(),
      token_type: caller.kind,
      issuer: caller.issuer,
    });
    bodies.set(caller, json);
  }
  return json;
}
