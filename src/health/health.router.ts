import { Router } from 'express';
import type { KeysProbe } from '../auth/issuer-probe.js';
import type { Db } from '../db/open.js';
import { ServiceUnavailableError } from '../errors.js';
import { sendJson } from '../http/json-response.js';
import { allowOnly } from '../http/routing.js';

/** `/healthz`: the process answers. `/readyz`: it can serve, because the database and the issuer's keys answer. */
export function healthRouter(deps: { db: Db; keysProbe: KeysProbe }): Router {
  const router = Router();
  const databaseAnswers = (): boolean => {
    try {
      return deps.db.prepare('SELECT 1 AS ok').get() !== undefined;
    } catch {
      return false;
    }
  };

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
      const [database, keys] = [databaseAnswers(), await deps.keysProbe()];
      const checks = { database: database ? 'ok' : 'failing', keys: keys ? 'ok' : 'failing' };
      res.set('Cache-Control', 'no-store');
      if (!database || !keys) {
        throw new ServiceUnavailableError(
          `Not ready: ${Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k).join(' and ')} failing.`,
          { extensions: { checks } },
        );
      }
      sendJson(res, { status: 'ready', checks });
    })
    .all(allowOnly('GET'));
  return router;
}
