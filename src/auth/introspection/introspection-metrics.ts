import { Counter, Histogram, type Registry, type RegistryContentType } from 'prom-client';
import type { IntrospectionOutcome } from './index.js';
import type { Logger } from '../../observability/logger.js';

/**
 * What the API makes of each introspection (RFC 7662): `introspections_total{outcome}` (`active`, `inactive`, `error`)
 * and `introspection_duration_seconds`; and one `warn` line when the endpoint starts failing, one `info` when it answers
 * again (never per request: an outage would flood the log). The token never reaches either.
 */
export function observeIntrospections(registry: Registry<RegistryContentType>, logger: Logger): (outcome: IntrospectionOutcome, seconds: number, error?: unknown) => void {
  const count = new Counter({
    name: 'introspections_total',
    help: 'Calls to the authorization server\'s introspection endpoint, by outcome (active, inactive, error); cached answers are not counted.',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'introspection_duration_seconds',
    help: 'Duration of calls to the introspection endpoint.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  let failingSince: number | undefined;
  return (outcome, seconds, error) => {
    count.inc({ outcome });
    duration.observe(seconds);
    if (outcome === 'error' && failingSince === undefined) {
      failingSince = Date.now();
      // The error's message only: openid-client's errors name the endpoint and the OAuth error, never the token.
      logger.warn(
        { err: describe(error) },
        'introspection endpoint failing: opaque tokens not in the cache are answered 503 until it answers again',
      );
    } else if (outcome !== 'error' && failingSince !== undefined) {
      logger.info({ outage_ms: Date.now() - failingSince }, 'introspection endpoint answering again');
      failingSince = undefined;
    }
  };
}

/** An error as the log may show it: its message, and the OAuth error and status when the endpoint sent them. */
function describe(error: unknown): Record<string, unknown> {
  const { error: code, error_description: description, status } = (error ?? {}) as { error?: unknown; error_description?: unknown; status?: unknown };
  return {
    message: error instanceof Error ? error.message : String(error),
    ...(typeof code === 'string' ? { error: code } : {}),
    ...(typeof description === 'string' ? { error_description: description } : {}),
    ...(typeof status === 'number' ? { status } : {}),
  };
}
