import { trace } from '@opentelemetry/api';

/**
 * A pino mixin (pino merges the line's own fields into what it returns, so it is a new object each time) that puts the current span's `trace_id` and `span_id` on each log line written inside a request, so a
 * log line leads to its trace and back. Used only while tracing is on (see createLogger).
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
