import { Router } from 'express';
import { ServiceUnavailableError } from '../errors.js';
import { sendJson } from '../http/json-response.js';
import { allowOnly } from '../http/routing.js';
import type { ReadinessCheck } from '../readiness.js';

/**
 * `/healthz`: the process answers. `/readyz`: it can serve, because every essential dependency answers (`200`,
 * `ready`, or `degraded` when a non-essential one fails), else `503` naming what fails; `503` `draining` from the
 * moment a shutdown begins (`draining()`), whatever the dependencies, so load balancers stop sending to it.
 */
export function healthRouter(deps: { checks: readonly ReadinessCheck[]; draining?: () => boolean }): Router {
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
      if (deps.draining?.()) {
        res.set('Cache-Control', 'no-store');
        sendJson(res, { status: 'draining' }, 503);
        return;
      }
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
