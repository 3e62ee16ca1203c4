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
  ready(): Promise<boolean>;
}

/** `/healthz`: the process answers. `/readyz`: it can serve, because every dependency it needs answers. */
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
      const answers = await Promise.all(deps.checks.map(async (check) => [check.name, await check.ready().catch(() => false)] as const));
      const checks = Object.fromEntries(answers.map(([name, ok]) => [name, ok ? 'ok' : 'failing']));
      const failing = answers.filter(([, ok]) => !ok).map(([name]) => name);
      res.set('Cache-Control', 'no-store');
      if (failing.length > 0) {
        throw new ServiceUnavailableError(`Not ready: ${failing.join(' and ')} failing.`, { extensions: { checks } });
      }
      sendJson(res, { status: 'ready', checks });
    })
    .all(allowOnly('GET'));
  return router;
}

/** The SQLite database answers a query. */
export function sqliteCheck(db: { prepare(sql: string): { get(): unknown } }): ReadinessCheck {
  return {
    name: 'database',
    ready: async () => {
      try {
        return db.prepare('SELECT 1 AS ok').get() !== undefined;
      } catch {
        return false;
      }
    },
  };
}
