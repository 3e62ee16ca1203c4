import { createRequire } from 'node:module';
import { syncBuiltinESMExports } from 'node:module';
import type * as Api from '@opentelemetry/api';
import type * as Core from '@opentelemetry/core';
import type * as Instrumentation from '@opentelemetry/instrumentation';
import type * as HttpInstrumentation from '@opentelemetry/instrumentation-http';
import type * as IORedisInstrumentation from '@opentelemetry/instrumentation-ioredis';
import type * as PgInstrumentation from '@opentelemetry/instrumentation-pg';
import type * as UndiciInstrumentation from '@opentelemetry/instrumentation-undici';
import type * as Resources from '@opentelemetry/resources';
import type * as TraceNode from '@opentelemetry/sdk-trace-node';
import { watchExports, type TracingReport } from './export-watch.js';
import { httpInstrumentationConfig } from './http-spans.js';
import type { OtlpProtocol } from './settings.js';
import { workerExporter } from './worker-exporter.js';

/**
 * The SDK packages, loaded with `require` only when tracing is on: they cost half a second and 20 MB to load, which a
 * deployment that does not trace should not pay, and a synchronous load keeps main.ts's first import from letting the
 * rest of the app load before the instrumentations are in place.
 */
const require = createRequire(import.meta.url);

export interface StartedSdk {
  /** Exports what is queued (bounded by `OTEL_BSP_EXPORT_TIMEOUT`) and stops. */
  shutdown(): Promise<void>;
}

/** Repeats of one diagnostic message within this time are not logged again. */
const DIAGNOSTIC_REPEAT_MS = 60_000;

/**
 * Starts tracing: a tracer provider with parent-based sampling (`OTEL_TRACES_SAMPLER`, default
 * `parentbased_always_on`), W3C trace context propagation, a bounded batch span processor in front of the OTLP
 * exporter (which sends from a worker thread: worker-exporter.ts), and the instrumentations of `http` (server and
 * client: this API's requests, the token library's discovery and key-set fetches), `fetch` (undici), `pg` and
 * `ioredis`. The modules they patch are loaded here, so whoever imports them later (the app, the token library, which
 * keeps its own reference to `http.get`) gets them patched.
 */
export function startSdk(options: { protocol: OtlpProtocol; endpoint: string; report: TracingReport }): StartedSdk {
  const { protocol, endpoint, report } = options;
  const api = require('@opentelemetry/api') as typeof Api;
  const core = require('@opentelemetry/core') as typeof Core;
  const resources = require('@opentelemetry/resources') as typeof Resources;
  const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node') as typeof TraceNode;
  const { registerInstrumentations } = require('@opentelemetry/instrumentation') as typeof Instrumentation;

  routeDiagnostics(api, core, report);

  const exporter = workerExporter(protocol);

  // Ours first, the environment's (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) over it: each process is one
  // instance, told apart by a random service.instance.id unless the deployment names it.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'notes-api' }))
    .merge(resources.detectResources({ detectors: [resources.serviceInstanceIdDetector, resources.hostDetector, resources.envDetector] }));

  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(watchExports(exporter, endpoint, report))],
  });
  // W3C trace context only: the API neither reads nor sets baggage, and each request would pay for looking for it.
  provider.register({ propagator: new core.W3CTraceContextPropagator() });

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new (require('@opentelemetry/instrumentation-http') as typeof HttpInstrumentation).HttpInstrumentation(httpInstrumentationConfig()),
      new (require('@opentelemetry/instrumentation-undici') as typeof UndiciInstrumentation).UndiciInstrumentation(),
      new (require('@opentelemetry/instrumentation-pg') as typeof PgInstrumentation).PgInstrumentation({
        requireParentSpan: true, // migrations and pool upkeep at start-up are not requests
        enhancedDatabaseReporting: false, // never parameter values
      }),
      new (require('@opentelemetry/instrumentation-ioredis') as typeof IORedisInstrumentation).IORedisInstrumentation({
        requireParentSpan: true, // the rate-limit store's background sync is not a request
        // The command only: keys name users (rate-limit counters per `sub`) and arguments are data.
        dbStatementSerializer: (command) => command,
      }),
    ],
  });
  // Load the patched modules now, before the app imports them (an ES module import of a CommonJS package reuses the
  // module `require` loaded); then let `import { get } from 'node:http'` see the patched functions too.
  for (const name of ['node:http', 'node:https', 'pg', 'ioredis']) require(name);
  syncBuiltinESMExports();

  return { shutdown: () => provider.shutdown() };
}

/**
 * The SDK's own diagnostics (a bad sampler value, an export error) go to the process log at `warn` and above, each
 * message at most once a minute; the exporter's failures are told once per outage by watchExports instead.
 */
function routeDiagnostics(api: typeof Api, core: typeof Core, report: TracingReport): void {
  const lastSaid = new Map<string, number>();
  const say = (message: string, args: unknown[]): void => {
    const now = Date.now();
    if (now - (lastSaid.get(message) ?? -Infinity) < DIAGNOSTIC_REPEAT_MS) return;
    if (lastSaid.size > 100) lastSaid.clear();
    lastSaid.set(message, now);
    report('warn', { component: 'opentelemetry', detail: args.map(String).join(' ').slice(0, 500) || undefined }, message);
  };
  const quiet = (): void => {};
  api.diag.setLogger({ error: (m, ...a) => say(m, a), warn: (m, ...a) => say(m, a), info: quiet, debug: quiet, verbose: quiet }, api.DiagLogLevel.WARN);
  // Failed exports reach this handler once per batch: watchExports already told the outage.
  core.setGlobalErrorHandler(quiet);
}
