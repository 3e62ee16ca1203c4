import { SpanKind, SpanStatusCode, TraceFlags, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * The API's own spans, for what the instrumentations cannot see: token verification, SQLite statements, the
 * rate-limit decision (an event), the problem a request was answered with; and the exemplars that lead from metrics
 * to them. Each helper does nothing at all while tracing is off (no span object, not
 * even a no-op one), so the request path costs the same as without tracing; inside a request whose trace is not
 * sampled, neither.
 */

let on = false;
const tracer = trace.getTracer('notes-api');

/** Called once the SDK is started (start.ts). */
export function markTracingOn(): void {
  on = true;
}

/** Whether the SDK was started in this process. */
export function tracingIsOn(): boolean {
  return on;
}

/**
 * Runs `work` inside a child span of the current one (so what it calls, e.g. a key-set fetch, nests under it), and
 * ends the span as its promise settles. A rejection with a 4xx `status` (a refusal) leaves the span's status unset,
 * as the HTTP conventions do for client errors; anything else marks it an error, named by its problem type.
 *
 * @example
 * const caller = await inSpan('verify access token', { 'auth.token.cache': 'miss' }, () => verify(req));
 */
export function inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  if (!on || inUnsampledTrace()) return work();
  return tracer.startActiveSpan(name, { attributes }, (span) =>
    work().then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        markFailure(span, error);
        span.end();
        throw error;
      },
    ),
  );
}

/**
 * Runs synchronous `work` (a SQLite statement) inside a client span of the current request's, when that request is
 * sampled; work outside a sampled request runs as it is, without a span.
 *
 * @example
 * const rows = inClientSpan('SELECT notes', { 'db.system.name': 'sqlite' }, () => statement.all(owner));
 */
export function inClientSpan<T>(name: string, attributes: Attributes, work: () => T): T {
  if (!on || !trace.getActiveSpan()?.isRecording()) return work();
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
  try {
    return work();
  } catch (error) {
    markFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** A span for a decision taken in the moment (a cache lookup, a rate-limit count): started and ended at once. */
export function spanNow(name: string, attributes: Attributes): void {
  if (on && !inUnsampledTrace()) tracer.startSpan(name, { attributes }).end();
}

/**
 * An event on the current span, for a decision that takes no time worth a span of its own (the rate-limit count): it
 * is exported inside its request's span, at the moment it was taken, for a fraction of what a child span costs a
 * sampled request. Nothing while tracing is off or the trace is not sampled.
 */
export function eventNow(name: string, attributes: Attributes): void {
  if (!on) return;
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.addEvent(name, attributes);
}

/**
 * Whether the current request's trace is not sampled: its children would not be recorded either (parent-based
 * sampling), so making them is skipped. Work outside any request (a background key refresh) starts a trace of its own.
 */
function inUnsampledTrace(): boolean {
  const current = trace.getActiveSpan();
  return current !== undefined && !current.isRecording();
}

/**
 * What an OpenMetrics exemplar carries to lead from a histogram bucket to one trace (Grafana opens it in Tempo/Jaeger).
 * prom-client's types expect exemplar labels named like the metric's own labels, so callers hand it these as
 * `Record<string, string>` (what it accepts at run time).
 */
export type ExemplarLabels = Readonly<Record<'trace_id' | 'span_id', string>>;

/**
 * The exemplar labels of `span` while it records a sampled trace, else undefined: an unsampled trace is never
 * exported, so an exemplar naming it would lead nowhere. A span already ended no longer records, so call this before
 * the span ends (a request's: on `finish`, which comes before the `close` that ends it).
 */
export function exemplarOf(span: Span | undefined): ExemplarLabels | undefined {
  if (!span?.isRecording()) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return traceFlags & TraceFlags.SAMPLED ? { trace_id: traceId, span_id: spanId } : undefined;
}

/** The exemplar labels of the current span (a database statement's: its request's span, or a child of it). */
export function currentExemplar(): ExemplarLabels | undefined {
  return on ? exemplarOf(trace.getActiveSpan()) : undefined;
}

/** Adds attributes to the current span (inside `inSpan`: that span). */
export function describeCurrentSpan(attributes: Attributes): void {
  if (on) trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Records on the request's span the problem it is answered with (`problem.type`, the RFC 9457 type URI). A 5xx also
 * marks the span an error (the HTTP instrumentation does as well, from the status); a 4xx does not.
 */
export function recordProblem(status: number, type: string): void {
  if (!on) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttribute('problem.type', type);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

function markFailure(span: Span, error: unknown): void {
  const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
  if (typeof type === 'string') span.setAttribute('problem.type', type);
  if (typeof status === 'number' && status < 500) return;
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof type === 'string' ? type : (error as Error)?.name });
  span.setAttribute('error.type', (error as Error)?.name ?? 'Error');
}
