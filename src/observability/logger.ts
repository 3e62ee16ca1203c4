import { pino, type DestinationStream, type Logger } from 'pino';
import { mergeTraceFields, traceFields } from './tracing/log-fields.js';
import { tracingIsOn } from './tracing/spans.js';

export type { Logger };

/**
 * The process logger: JSON lines on stdout. Credentials are redacted wherever they could appear,
 * so a token never reaches a log even when a whole request or header set is logged.
 */
export function createLogger(level: string, destination?: DestinationStream, pretty = false): Logger {
  const options = {
    level,
    // While tracing, each line written inside a request carries its trace_id and span_id.
    ...(tracingIsOn() ? { mixin: traceFields, mixinMergeStrategy: mergeTraceFields } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.dpop',
        'req.headers.cookie',
        'headers.authorization',
        'headers.dpop',
        'headers.cookie',
        'token',
        'access_token',
        '*.access_token',
        '*.token',
      ],
      censor: '[redacted]',
    },
  };
  if (destination) return pino(options, destination);
  // pino-pretty is a development dependency: production images never load it.
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } });
  // Asynchronous writes keep the event loop off stdout; shutdown flushes what is buffered.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}
