import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ExportResult } from '@opentelemetry/core';
import type * as Transformer from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FromExportWorker, ToExportWorker } from './export-worker.js';
import type { OtlpProtocol } from './settings.js';

const FAILED = 1; // ExportResultCode.FAILED, without loading @opentelemetry/core for one number

/** Loaded only when tracing is on, as sdk.ts loads the SDK. */
const require = createRequire(import.meta.url);

/** How long shutdown waits for the worker to send what it holds (the batch processor's own export timeout bounds the rest). */
const SHUTDOWN_WAIT_MS = 10_000;

/**
 * An OTLP span exporter that encodes each batch on the main thread and sends it from a worker thread
 * (export-worker.ts, OpenTelemetry's own OTLP/HTTP transport). Why not the stock exporter on the main thread:
 * its HTTP client requests, sockets and response streams run through the same Node.js functions as the API's own
 * requests (EventEmitter, streams, header parsing) and, from the first export on, turn their inline caches
 * megamorphic. Every request then pays for it, sampled or not: under callgrind, `GET /v1/me` with 10 % sampled took
 * 30.7k more instructions than with none sampled where its share of sampling every request is 9.3k
 * (docs/performance.md). In a worker the HTTP client has an isolate of its own.
 *
 * The batch processor in front still sees one export at a time and its result: each batch's callback waits for the
 * worker's answer, so its queue bound (`OTEL_BSP_MAX_QUEUE_SIZE`) and its drop count hold as with the stock exporter.
 */
export function workerExporter(protocol: OtlpProtocol): SpanExporter {
  const { JsonTraceSerializer, ProtobufTraceSerializer } = require('@opentelemetry/otlp-transformer') as typeof Transformer;
  const encoding = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  const worker = startWorker({ protocol });
  worker.unref(); // never what keeps the process alive

  const waiting = new Map<number, (result: ExportResult) => void>();
  let nextId = 0;
  let stopped: Error | undefined;
  let shutdownDone: (() => void) | undefined;
  const settleAll = (result: ExportResult): void => {
    for (const done of waiting.values()) done(result);
    waiting.clear();
  };

  worker.on('message', (message: FromExportWorker) => {
    if ('shutdownDone' in message) {
      shutdownDone?.();
      return;
    }
    const done = waiting.get(message.id);
    waiting.delete(message.id);
    done?.(message.error === undefined ? { code: message.code } : { code: message.code, error: new Error(message.error) });
  });
  // A worker that dies fails what it held and every later batch: the batch processor drops them, bounded, and
  // watchExports says so once.
  const stop = (reason: Error): void => {
    stopped ??= reason;
    settleAll({ code: FAILED, error: stopped });
    shutdownDone?.();
  };
  worker.on('error', (error) => stop(new Error(`trace export worker failed: ${error.message}`)));
  worker.on('exit', (code) => stop(new Error(`trace export worker exited (${code})`)));

  const post = (message: ToExportWorker, transfer?: ArrayBuffer[]): void => worker.postMessage(message, transfer);

  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      if (stopped) return done({ code: FAILED, error: stopped });
      const body = encoding.serializeRequest(spans);
      if (!body) return done({ code: FAILED, error: new Error('trace batch could not be encoded') });
      const id = nextId++;
      waiting.set(id, done);
      // A fresh buffer of its own, handed over rather than copied.
      const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : body.slice();
      post({ id, body: owned, spans: spans.length }, [owned.buffer as ArrayBuffer]);
    },
    forceFlush(): Promise<void> {
      // Each batch's callback already waits for its send, and the batch processor waits for the callbacks.
      return Promise.resolve();
    },
    async shutdown(): Promise<void> {
      if (stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
        shutdownDone = () => {
          clearTimeout(timer);
          resolve();
        };
        post({ shutdown: true });
      });
      stopped = new Error('trace exporter shut down');
      settleAll({ code: FAILED, error: stopped });
      await worker.terminate();
    },
  };
}

/**
 * The worker, from export-worker.js beside this file. Under tsx (npm run dev, the tests) this file is .ts and a
 * worker thread does not inherit tsx's loader, so the worker registers it before importing the entry.
 */
function startWorker(workerData: { protocol: OtlpProtocol }): Worker {
  const entry = new URL(`./export-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  // The environment as it is now (OTEL_EXPORTER_OTLP_*), not as it may be once the thread has started.
  const env = { ...process.env };
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData, env });
  const tsx = import.meta.resolve('tsx/esm/api'); // from here: the eval'd code would resolve from the working folder
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData, env });
}
