import type { Histogram } from 'prom-client';
import { currentExemplar } from '../observability/tracing/spans.js';

/**
 * Starts timing one storage operation in `db_query_duration_seconds` (both engines), returning what ends it. While
 * tracing, a sampled request's statement becomes its bucket's exemplar; tracing off, `currentExemplar()` is undefined
 * at once, and the histogram, made without exemplars, ignores the argument.
 *
 * @example
 * const end = startStatementTimer(duration, 'page');
 * try { return run(); } finally { end?.(); }
 */
export function startStatementTimer(duration: Histogram<'operation'> | undefined, operation: string): (() => void) | undefined {
  // prom-client's types want exemplar labels named like the metric's own; it takes any at run time (spans.ts).
  return duration?.startTimer({ operation }, currentExemplar() as Record<string, string> | undefined);
}
