import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Where the tracing start-up reports what it has to say (the process logger once main.ts made it). */
export type TracingReport = (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;

const FAILED = 1; // ExportResultCode.FAILED, without loading @opentelemetry/core for one number

/**
 * Wraps the OTLP exporter to tell an outage once: one warning when exports start failing (the collector is down or
 * unreachable), one line when they succeed again with how many spans were lost meanwhile. The batch processor in
 * front keeps at most its queue (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048 spans by default) and drops the rest, so an outage
 * costs bounded memory and never a request; this only keeps the log to one warning per outage instead of one per
 * batch.
 */
export function watchExports(exporter: SpanExporter, endpoint: string, report: TracingReport): SpanExporter {
  let failing = false;
  let lost = 0;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      exporter.export(spans, (result) => {
        if (result.code === FAILED) {
          lost += spans.length;
          if (!failing) {
            failing = true;
            report(
              'warn',
              { endpoint, reason: result.error?.message ?? 'unknown' },
              'trace export failing: spans are dropped (bounded queue) until the collector answers again',
            );
          }
        } else if (failing) {
          report('info', { endpoint, spans_lost: lost }, 'trace export working again');
          failing = false;
          lost = 0;
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
