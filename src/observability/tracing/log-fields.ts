import { trace } from '@opentelemetry/api';

/** A log line's trace fields: the trace and the span it was written in. */
interface TraceFields {
  trace_id?: string;
  span_id?: string;
}

/** What the mixin returns for a line that needs nothing added: one shared object, never merged into (below). */
const NOTHING: TraceFields = Object.freeze({});

/**
 * A pino mixin that puts the current span's `trace_id` and `span_id` on each log line written inside a request, so a
 * log line leads to its trace and back. Used only while tracing is on (see createLogger). A line that carries its
 * own (the access log line: request-logging.ts takes them from the response's span, without a context lookup) and a
 * line written outside any request get NOTHING, which mergeTraceFields passes over: pino's own merge copies the
 * whole line into the mixin's object, which on every request's access line cost more than the lookup.
 */
export function traceFields(line: object): TraceFields {
  if ((line as TraceFields).trace_id !== undefined) return NOTHING;
  const span = trace.getActiveSpan();
  if (span === undefined) return NOTHING;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** pino's `mixinMergeStrategy` for traceFields: the trace fields first, as pino's default merge puts them. */
export function mergeTraceFields(line: object, fields: object): object {
  return fields === NOTHING ? line : Object.assign(fields, line);
}
