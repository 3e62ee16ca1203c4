import type { IRouter, RequestHandler } from 'express';
import { callerOf } from '../auth/index.js';
import { sendJson } from '../http/json-response.js';
import { allowOnly } from '../http/routing.js';

/**
 * `GET /v1/me`: what the API understood of the caller's token; any valid token may ask. Registered on the app
 * itself, not on a Router of its own: every Router a request enters costs it (see docs/performance.md).
 */
export function meRoutes(router: IRouter, deps: { authenticate: RequestHandler[] }): void {
  router
    .route('/v1/me')
    .get(...deps.authenticate, (req, res) => {
      const caller = callerOf(req);
      sendJson(res, {
        sub: caller.sub,
        client_id: caller.clientId,
        scopes: caller.tokenScopes,
        permissions: caller.permissions,
        expires_at: caller.expiresAt.toISOString(),
        token_type: caller.kind,
        issuer: caller.issuer,
      });
    })
    .all(allowOnly('GET'));
}
