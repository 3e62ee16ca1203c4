/**
 * The worker thread that sends the API's traces: OpenTelemetry's own OTLP/HTTP transport (endpoint, headers, timeout,
 * compression and retries from the `OTEL_EXPORTER_OTLP_*` variables, as the stock exporter reads them), fed batches
 * the main thread has already encoded (worker-exporter.ts says why the sending lives here).
 *
 * Messages in: `{ id, body, spans }` (one encoded batch) and `{ shutdown: true }`. Messages out: `{ id, code, error }`
 * per batch (`code` as ExportResultCode) and `{ shutdownDone: true }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ExportResult } from '@opentelemetry/core';
import { createOtlpHttpExportDelegate, convertLegacyHttpOptions } from '@opentelemetry/otlp-exporter-base/node-http';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { OtlpProtocol } from './settings.js';

export interface EncodedBatch {
  readonly id: number;
  readonly body: Uint8Array;
  readonly spans: number;
}
export type ToExportWorker = EncodedBatch | { readonly shutdown: true };
export type FromExportWorker = { readonly id: number; readonly code: number; readonly error?: string } | { readonly shutdownDone: true };

const { protocol } = workerData as { protocol: OtlpProtocol };
const encoding = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;

const delegate = createOtlpHttpExportDelegate(
  convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', {
    'Content-Type': protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
  }),
  // The batch arrives encoded; the collector's answer (partial success) is read as the stock exporter reads it.
  { serializeRequest: (batch: EncodedBatch) => batch.body, deserializeResponse: (data) => encoding.deserializeResponse(data) },
  'otlp_http_span_exporter',
  { name: 'span', countItems: (batch: EncodedBatch) => batch.spans },
  undefined, // no meter provider: the exporter's own metrics are not collected
);

const port = parentPort!;
port.on('message', (message: ToExportWorker) => {
  if ('shutdown' in message) {
    void delegate.shutdown().finally(() => port.postMessage({ shutdownDone: true } satisfies FromExportWorker));
    return;
  }
  delegate.export(message, (result: ExportResult) => {
    port.postMessage({ id: message.id, code: result.code, error: result.error?.message } satisfies FromExportWorker);
  });
});
