import express, { type Express } from 'express';
import helmet from 'helmet';
import { createAuthenticate } from './auth/index.js';
import type { KeysProbe } from './auth/issuer-probe.js';
import type { Config } from './config.js';
import type { Db } from './db/open.js';
import { docsRouter } from './docs/docs.router.js';
import { healthRouter } from './health/health.router.js';
import { createErrorHandler } from './http/error-handler.js';
import { noStore, notFound } from './http/routing.js';
import { meRouter } from './me/me.router.js';
import { NotesRepository } from './notes/notes.repository.js';
import { NotesService } from './notes/notes.service.js';
import { notesRouter } from './notes/notes.router.js';
import type { Logger } from './observability/logger.js';

export interface AppDeps {
  config: Config;
  /** The issuer tokens are checked against (from `ISSUER_BASE_URL`). */
  issuer: string;
  db: Db;
  logger: Logger;
  keysProbe: KeysProbe;
}

/** Builds the API. It never listens: `main.ts` (or a test) decides where. */
export function createApp(deps: AppDeps): Express {
  const { config, db, logger } = deps;
  const authenticate = createAuthenticate(config, deps.issuer);
  const notes = new NotesService(new NotesRepository(db));

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  app.use(helmet());
  app.use('/v1', noStore);

  app.use(healthRouter({ db, keysProbe: deps.keysProbe }));
  app.use(docsRouter());
  app.use(meRouter({ authenticate }));
  app.use(notesRouter({ authenticate, service: notes }));

  app.use(notFound);
  app.use(createErrorHandler({ realm: config.AUTH_REALM, logger }));
  return app;
}
