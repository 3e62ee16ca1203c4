import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';
import { workerExporter } from '../../src/observability/tracing/worker-exporter.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

// The exporter the API's batch processor sends through (worker-exporter.ts): each batch is encoded here and sent by
// OpenTelemetry's OTLP/HTTP transport from a worker thread, which reads the OTEL_EXPORTER_OTLP_* variables as the
// stock exporter does. These run it against a real receiver and a closed port; tracing.test.ts runs it inside the API.

const FAILED = 1;
const SUCCESS = 0;

function endedSpans(names: string[]): ReadableSpan[] {
  const spans: ReadableSpan[] = [];
  const provider = new BasicTracerProvider({ spanProcessors: [{ onStart: () => {}, onEnd: (span) => spans.push(span), forceFlush: async () => {}, shutdown: async () => {} }] });
  const tracer = provider.getTracer('worker-exporter-test');
  for (const name of names) tracer.startSpan(name, { attributes: { 'test.name': name } }).end();
  return spans;
}

const exportOnce = (exporter: SpanExporter, spans: ReadableSpan[]) => new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

/** A worker exporter made while OTEL_EXPORTER_OTLP_* say `env` (the worker copies the environment as it starts). */
function exporterWith(env: Record<string, string>): SpanExporter {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return workerExporter('http/json');
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

describe('the worker thread exporter', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver.close());

  it('when a batch is exported, then the receiver gets its spans and the callback says success only after it did', async () => {
    const exporter = exporterWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const result = await exportOnce(exporter, endedSpans(['first', 'second']));
      expect(result).toEqual({ code: SUCCESS });
      expect(receiver.spans().map((span) => [span.name, span.attributes['test.name']])).toEqual(
        expect.arrayContaining([
          ['first', 'first'],
          ['second', 'second'],
        ]),
      );
    } finally {
      await exporter.shutdown();
    }
  });

  it('when the endpoint refuses connections, then the batch fails with the reason, and after shutdown every batch fails at once', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadEndpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const exporter = exporterWith({ OTEL_EXPORTER_OTLP_ENDPOINT: deadEndpoint, OTEL_EXPORTER_OTLP_TIMEOUT: '500' });
    const failed = await exportOnce(exporter, endedSpans(['lost']));
    expect(failed.code).toBe(FAILED);
    expect(failed.error?.message).toMatch(/ECONNREFUSED|timeout|Timeout/);

    await exporter.shutdown();
    const afterShutdown = await exportOnce(exporter, endedSpans(['late']));
    expect(afterShutdown).toEqual({ code: FAILED, error: new Error('trace exporter shut down') });
  });
});
