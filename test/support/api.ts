import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import { createKeysProbe } from '../../src/auth/issuer-probe.js';
import { loadConfig } from '../../src/config.js';
import Database from 'better-sqlite3';
import { parseDatabaseUrl } from '../../src/database-url.js';
import { openStorage } from '../../src/db/open-storage.js';
import { startServer } from '../../src/http/server.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../src/observability/metrics.js';
import { observeIssuerFetches } from '../../src/auth/issuer-fetch-metrics.js';
import { openShareableState } from '../../src/state/shareable-state.js';
import { captureLog } from './log-capture.js';
import { createTestSchema, type TestSchema } from './postgres.js';
import { loadSpecConformance } from './spec-conformance.js';

/** The storage engines the API runs on; behaviour tests run against each (`describe.each(backends)`). */
export const backends = ['sqlite', 'postgres'] as const;
export type Backend = (typeof backends)[number];

export interface TestApi {
  /** `http://127.0.0.1:PORT` of the running API. */
  readonly url: string;
  /** A supertest agent bound to the running API. */
  request(): ReturnType<typeof request>;
  /** The engine this API runs on. */
  readonly backend: Backend;
  /** A connection of the test's own to the API's SQLite database file (SQLite only: throws on PostgreSQL). */
  readonly db: Database.Database;
  /** Closes the API's own storage, as an outage would leave it (its `close()` then leaves it be). */
  closeStorage(): Promise<void>;
  /** The DATABASE_URL it runs on (a schema of its own on PostgreSQL, unless the test passed one). */
  readonly databaseUrl: string;
  /** The API's metrics registry and instruments (process metrics left out). */
  readonly metrics: Metrics;
  /** Everything the API logged so far, as JSON lines. */
  logs(): string;
  /** Stops the API; fails when a response of the run did not match openapi.yaml. */
  close(): Promise<void>;
}

/**
 * Starts the real API on 127.0.0.1 (port 0) against a test issuer and a fresh database: a SQLite file in a temp folder,
 * or (`backend: 'postgres'`) a schema of its own in the test PostgreSQL database (test/support/postgres.ts), dropped
 * at `close()`. A DATABASE_URL in `env` is used as it is (two APIs on one database). Every response is checked against
 * openapi.yaml; `close()` reports any mismatch.
 *
 * @example
 * const issuer = await startTestIssuer();
 * const api = await startApi(issuer);
 * await api.request().get('/v1/me').auth(await issuer.mint(), { type: 'bearer' }).expect(200);
 */
/** Any issuer the API can trust: the test issuer, or the development authorization server. */
export interface IssuerLike {
  readonly url: string;
  readonly audience: string;
  /** The development server's client for the API, to introspect its opaque tokens. */
  readonly introspectionClient?: { clientId: string; clientSecret: string };
}

export async function startApi(issuer: IssuerLike, env: Record<string, string> = {}, backend: Backend = 'sqlite'): Promise<TestApi> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'notes-api-'));
  const schema: TestSchema | undefined = backend === 'postgres' && !env.DATABASE_URL ? await createTestSchema() : undefined;
  const config = loadConfig({
    ISSUER_BASE_URL: issuer.url,
    AUDIENCE: issuer.audience,
    TOKEN_SIGNING_ALGS: 'RS256,ES256',
    DATABASE_URL: schema?.url ?? path.join(folder, 'notes.db'),
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    ...env,
  });
  const log = captureLog();
  const logger = createLogger(config.LOG_LEVEL, log.stream);
  const metrics = createMetrics({ defaultMetrics: false });
  const storage = await openStorage(config, { logger, metrics }).catch(async (error: unknown) => {
    await schema?.drop();
    throw error;
  });
  const stopObserving = observeIssuerFetches(metrics, config.ISSUER_BASE_URL!);
  const state = openShareableState(config, { logger, metrics });
  const app = createApp({
    metrics,
    config,
    issuers: config.ISSUER_BASE_URL!,
    storage,
    state,
    logger,
    keysProbe: createKeysProbe({ issuers: config.ISSUER_BASE_URL!, jwksUri: config.JWKS_URI, timeoutMs: 2000, cacheMs: 0 }),
    ...(issuer.introspectionClient ? { introspectionClient: issuer.introspectionClient } : {}),
  });
  await state.connecting;
  const conformance = await loadSpecConformance();
  const running = await startServer(conformance.wrap(app), { host: '127.0.0.1', port: 0, app });
  const target = parseDatabaseUrl(config.DATABASE_URL);
  let db: Database.Database | undefined;
  let storageClosed = false;
  const closeStorage = async () => {
    if (storageClosed) return;
    storageClosed = true;
    await storage.close();
  };

  return {
    url: running.url,
    request: () => request(running.url),
    backend: target.kind,
    get db() {
      if (target.kind !== 'sqlite') throw new Error('api.db is the SQLite database; this API runs on PostgreSQL');
      db ??= new Database(target.path, { timeout: 5000 });
      return db;
    },
    closeStorage,
    databaseUrl: config.DATABASE_URL,
    metrics,
    logs: log.text,
    async close() {
      stopObserving();
      db?.close();
      await running.close();
      await app.close();
      await state.close();
      await closeStorage();
      await schema?.drop();
      fs.rmSync(folder, { recursive: true, force: true });
      const violations = conformance.violations();
      if (violations.length > 0) throw new Error(`Responses that do not match openapi.yaml:\n${violations.join('\n')}`);
    },
  };
}

/** The CORS preflight a browser at `origin` sends before a cross-origin POST with a token and a JSON body. */
export function preflight(api: TestApi, path: string, origin: string) {
  return api
    .request()
    .options(path)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', 'authorization,content-type');
}
