/**
 * OpenTelemetry tracing, started as this module is evaluated. main.ts imports it before anything else: the
 * instrumentations must patch `http`, `pg` and `ioredis` before the app and the token library load them.
 *
 * Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (see settings.ts): then
 * nothing of the SDK is loaded. Tests and tools that build the app without main.ts never trace.
 */
import { loadDotEnv } from '../../config.js';
import type { Logger } from '../logger.js';
import type { TracingReport } from './export-watch.js';
import { startSdk, type StartedSdk } from './sdk.js';
import { markTracingOn } from './spans.js';
import { tracingSettings } from './settings.js';

export interface Tracing {
  /** Whether spans are being made and exported. */
  readonly enabled: boolean;
  /** Sends what tracing reports (start-up, export outages) to the process logger, with what it said before. */
  logTo(logger: Logger): void;
  /** Exports the spans still queued; at shutdown. */
  shutdown(): Promise<void>;
}

function startTracing(): Tracing {
  // The variables may come from .env, which main.ts reads too, later (loading it twice changes nothing).
  loadDotEnv();
  const settings = tracingSettings(process.env);
  if (!settings.enabled) return { enabled: false, logTo: () => {}, shutdown: () => Promise.resolve() };

  // Until main.ts has its logger, what tracing says is kept (a few lines at most) and logged then.
  const early: Parameters<TracingReport>[] = [];
  let logger: Logger | undefined;
  const report: TracingReport = (level, fields, message) => {
    if (logger) logger[level](fields, message);
    else if (early.length < 50) early.push([level, fields, message]);
  };
  let sdk: StartedSdk;
  try {
    sdk = startSdk({ protocol: settings.protocol, endpoint: settings.endpoint, report });
  } catch (error) {
    // Tracing is an aid: a broken set-up is said once, and the API serves without it.
    console.error(`Tracing not started: ${(error as Error).message}`);
    return { enabled: false, logTo: () => {}, shutdown: () => Promise.resolve() };
  }
  markTracingOn();
  for (const warning of settings.warnings) report('warn', {}, warning);
  report('info', { endpoint: settings.endpoint, protocol: settings.protocol }, 'tracing: exporting spans over OTLP');
  return {
    enabled: true,
    logTo(target) {
      logger = target;
      for (const [level, fields, message] of early.splice(0)) target[level](fields, message);
    },
    shutdown: () => sdk.shutdown(),
  };
}

/** This process's tracing (see the module's comment). */
export const tracing: Tracing = startTracing();
