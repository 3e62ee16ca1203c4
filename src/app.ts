import express, { type Express } from 'express';
import { DPOP_ALGS } from './auth/challenge.js';
import { ScopeGuards, createAuthenticate } from './auth/index.js';
import { resourceMetadataUrlFor } from './auth/resource-metadata.js';
import type { KeysProbe } from './auth/issuer-probe.js';
import type { Config } from './config.js';
import { docsRouter } from './docs/docs.router.js';
import { signInEndpoints } from './docs/sign-in-endpoints.js';
import { healthRouter } from './health/health.router.js';
import { corsFor } from './http/cors.js';
import { securityHeaders } from './http/security-headers.js';
import { createErrorHandler, createProblemResponder } from './http/error-handler.js';
import { clientKeyOf } from './http/client-address.js';
import { limitAnonymous, limitPerUser } from './rate-limit/rate-limit.js';
import { frontDoor } from './http/front-door.js';
import { requestLogging } from './http/request-logging.js';
import { measureRequests } from './http/request-metrics.js';
import { answeringErrors, inSequence, limitUrlLength, noStoreUnder, notFound } from './http/routing.js';
import { meRoutes } from './me/me.router.js';
import { NotesService } from './notes/notes.service.js';
import type { NotesStorage } from './notes/notes.storage.js';
import type { ReadinessCheck } from './readiness.js';
import { notesRoutes } from './notes/notes.router.js';
import { resourceMetadataRouter } from './resource-metadata/resource-metadata.router.js';
import type { Logger } from './observability/logger.js';
import type { Metrics } from './observability/metrics.js';
import { traceRequests } from './observability/tracing/request-spans.js';
import { tracingIsOn } from './observability/tracing/spans.js';
import type { ShareableState } from './state/shareable-state.js';
import type { ProvidedIntrospectionClient } from './auth/introspection/index.js';
import { observeIntrospections } from './auth/introspection/introspection-metrics.js';

export interface AppDeps {
  config: Config;
  /** The issuers tokens are checked against (from `ISSUER_BASE_URL`, or the development server). */
  issuers: readonly string[];
  /** Where notes are kept (SQLite or PostgreSQL, opened by `openStorage` in main.ts), and what `/readyz` checks of it. */
  storage: { readonly notes: NotesStorage; readonly readiness: readonly ReadinessCheck[] };
  /** Rate-limit counts and DPoP proof ids (in this process, or in Redis for every replica: opened in main.ts), and `/readyz`'s checks of where they live. */
  state: Pick<ShareableState, 'rateLimits' | 'proofIds' | 'introspections' | 'readiness'>;
  logger: Logger;
  metrics: Metrics;
  keysProbe: KeysProbe;
  /** Whether the process is draining for shutdown (main.ts's shutdown says so): `/readyz` then answers 503 `draining`. */
  draining?: () => boolean;
  /** The client id `/docs` signs in with when `DOCS_CLIENT_ID` is unset (the development server's docs client). */
  docsClientId?: string;
  /** The development server's client for introspecting its opaque tokens (when it plays the issuer). */
  introspectionClient?: ProvidedIntrospectionClient;
}

const MAX_URL_LENGTH = 2048;

/** The API as Express serves it, and what it holds beyond its requests. */
export interface Api extends Express {
  /**
   * Logs what the client-error budget has left out so far and stops watching the issuers' keys (at shutdown). What
   * was passed in (storage, state) is closed by whoever opened it.
   */
  close(): Promise<void>;
}

/** Builds the API. It never listens: `main.ts` (or a test) decides where. */
export function createApp(deps: AppDeps): Api {
  const { config, logger, metrics } = deps;
  // Rate limits and the log's client-error budget count a client by the same key (TRUST_PROXY decides its address).
  const clientKey = clientKeyOf(config.TRUST_PROXY);
  const { state } = deps;
  const limits = {
    windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    perUser: config.RATE_LIMIT_PER_USER,
    perIp: config.RATE_LIMIT_PER_IP,
    clientKey,
    store: state.rateLimits,
  };

  const respond = createProblemResponder({
    challenge: { realm: config.AUTH_REALM, dpop: config.DPOP, dpopAlgs: DPOP_ALGS },
    resourceMetadataUrl: resourceMetadataUrlFor(config.AUDIENCE, config.PUBLIC_URL),
    logger,
    metrics,
  });
  const anonymousLimit = config.RATE_LIMIT_ENABLED ? limitAnonymous(limits) : undefined;
  const authenticate = createAuthenticate(config, deps.issuers, {
    proofIds: state.proofIds,
    onRefused: anonymousLimit?.countRefused,
    // Every request with a valid token counts against its user.
    onAdmitted: config.RATE_LIMIT_ENABLED ? limitPerUser(limits) : undefined,
    answerRefusal: respond,
    onIssuerFetch: (kind, outcome) => metrics.issuerFetches.inc({ kind, outcome }),
    onVerification: (outcome) => metrics.tokenVerifications.inc({ outcome }),
    // Opaque tokens (issue 23): introspected at the issuer, answers shared through Redis with REDIS_URL.
    introspection: { provided: deps.introspectionClient, shared: state.introspections, onIntrospection: observeIntrospections(metrics.registry, logger) },
  });
  const scopes = new ScopeGuards();
  const logging = requestLogging(logger, { clientErrorsPerMinute: config.LOG_CLIENT_ERRORS_PER_MINUTE, clientKey });

  const notes = new NotesService(deps.storage.notes);

  metrics.watchTokenCache(authenticate.cache);
  if (authenticate.introspection) metrics.watchTokenCache(authenticate.introspection);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', config.TRUST_PROXY);

  app.set('etag', false); // user data is never cached; the few cacheable responses set their own ETag

  // Tracing's server span (issue 24) wraps everything else a request passes; while tracing is off there is no layer.
  if (tracingIsOn()) app.use(traceRequests());

  // What every request passes first, as one layer of routing rather than four (each costs every request, see
  // docs/performance.md): the front door, then CORS when it is on, then the URL's length and the anonymous limit, so
  // that a 414 or a 429 carries CORS headers and a preflight, which CORS answers, never counts. What this layer refuses
  // is answered there and then: there is no route to pass it to.
  app.use(
    answeringErrors(
      respond,
      inSequence(
        frontDoor([logging, measureRequests(metrics), securityHeaders(), noStoreUnder('/v1')]),
        ...(config.CORS_ORIGINS ? [corsFor(config.CORS_ORIGINS)] : []),
        limitUrlLength(MAX_URL_LENGTH),
        ...(anonymousLimit ? [anonymousLimit.middleware] : []),
      ),
    ),
  );

  // The API's own routes first: they take nearly all the traffic, and every router passed costs.
  meRoutes(app, { authenticate });
  notesRoutes(app, {
    authenticate,
    scopes,
    stepUp: { maxAge: config.STEP_UP_MAX_AGE, acrValues: config.STEP_UP_ACR_VALUES },
    service: notes,
  });
  app.use(
    healthRouter({
      checks: [...deps.storage.readiness, { name: 'keys', ready: deps.keysProbe }, ...state.readiness, ...(authenticate.introspection?.readiness ?? [])],
      ...(deps.draining ? { draining: deps.draining } : {}),
    }),
  );
  app.use(
    docsRouter({
      publicUrl: config.PUBLIC_URL,
      clientId: config.DOCS_CLIENT_ID ?? deps.docsClientId,
      audience: config.AUDIENCE,
      scopes: scopes.supported,
      endpoints: signInEndpoints({ issuers: deps.issuers, timeoutMs: config.ISSUER_TIMEOUT_MS }),
    }),
  );
  app.use(
    resourceMetadataRouter({
      resource: config.AUDIENCE,
      resourceName: config.RESOURCE_NAME,
      publicUrl: config.PUBLIC_URL,
      issuers: deps.issuers,
      scopes,
      dpop: config.DPOP,
    }),
  );

  app.use(notFound);
  app.use(createErrorHandler(respond));
  return Object.assign(app, {
    async close() {
      logging.close();
      authenticate.close();
    },
  });
}
