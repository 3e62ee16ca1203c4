import { Router } from 'express';
import { ServiceUnavailableError } from '../errors.js';
import { sendJson } from '../http/json-response.js';
import { allowOnly } from '../http/routing.js';

/**
 * One dependency the API needs to serve, as `/readyz` reports it: `name` is its key in `checks` (`database`, `keys`,
 * …), `ready` answers within its own timeout and never throws.
 */
export interface ReadinessCheck {
  readonly name: string;
  /**
   * Whether the API cannot serve without it (the default). A dependency that only some requests need (Redis, for
   * DPoP requests, unless every request is one) makes the API `degraded` when it fails, still `200`: a probe that took
   * every replica out of the load balancer would stop the requests that can still be served too.
   */
  readonly essential?: boolean;
  ready(): Promise<boolean>;
}

/**
 * `/healthz`: the process answers. `/readyz`: it can serve, because every essential dependency answers (`200`,
 * `ready`, or `degraded` when a non-essential one fails), else `503` naming what fails.
 */
export function healthRouter(deps: { checks: readonly ReadinessCheck[] }): Router {
  const router = Router();

  router
    .route('/healthz')
    .get((_req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      sendJson(res, { status: 'ok' });
    })
    .all(allowOnly('GET'));

  router
    .route('/readyz')
    .get(async (_req, res) => {
      const answers = await Promise.all(deps.checks.map(async (check) => ({ check, ok: await check.ready().catch(() => false) })));
      const checks = Object.fromEntries(answers.map(({ check, ok }) => [check.name, ok ? 'ok' : 'failing']));
      const failing = answers.filter(({ ok }) => !ok);
      res.set('Cache-Control', 'no-store');
      const unready = failing.filter(({ check }) => check.essential !== false).map(({ check }) => check.name);
      if (unready.length > 0) {
        throw new ServiceUnavailableError(`Not ready: ${unready.join(' and ')} failing.`, { extensions: { checks } });
      }
      sendJson(res, { status: failing.length > 0 ? 'degraded' : 'ready', checks });
    })
    .all(allowOnly('GET'));
  return router;
}

/**
 * A `ready` for a dependency that may hang: false when `probe` rejects or has not answered within `timeoutMs`, so
 * `/readyz` answers in bounded time whatever the dependency does.
 */
export function readyWithin(timeoutMs: number, probe: () => Promise<boolean>): () => Promise<boolean> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([probe().catch(() => false), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
