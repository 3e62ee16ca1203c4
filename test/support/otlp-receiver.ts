import http from 'node:http';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

/** One span as an OTLP/HTTP JSON export carried it, with the resource it came from, attributes made plain. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  status: { code?: number; message?: string };
  attributes: Record<string, string | number | boolean | undefined>;
  /** What happened at a moment within the span (e.g. the rate-limit decision), attributes made plain. */
  events: { name: string; attributes: Record<string, string | number | boolean | undefined> }[];
  resource: Record<string, string | number | boolean | undefined>;
  scope: string;
}

/** A real OTLP/HTTP trace receiver on 127.0.0.1 (what a Collector, Jaeger or Tempo listens with on 4318), JSON encoding. */
export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`: what OTEL_EXPORTER_OTLP_ENDPOINT is set to (the exporter adds `/v1/traces`). */
  readonly url: string;
  /** Every body received, byte for byte (for searching what must never be exported). */
  readonly bodies: readonly Buffer[];
  spans(): ReceivedSpan[];
  /** Resolves with the spans once `ready(spans)` holds; rejects after `timeoutMs` with what did arrive. */
  waitFor(ready: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

const plain = (attributes: KeyValue[] = []) =>
  Object.fromEntries(attributes.map(({ key, value }) => [key, value.stringValue ?? (value.intValue === undefined ? undefined : Number(value.intValue)) ?? value.boolValue ?? value.doubleValue]));

/** Starts the receiver on port 0. It decodes `application/json` exports (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const bodies: Buffer[] = [];
  const received: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      if (req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end();
        return;
      }
      const request = JSON.parse(body.toString()) as {
        resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { scope: { name: string }; spans: (Omit<ReceivedSpan, 'attributes' | 'events' | 'resource' | 'scope'> & { attributes: KeyValue[]; events?: { name: string; attributes?: KeyValue[] }[] })[] }[] }[];
      };
      for (const { resource, scopeSpans } of request.resourceSpans) {
        for (const { scope, spans } of scopeSpans) {
          for (const span of spans) {
            received.push({ ...span, parentSpanId: span.parentSpanId || undefined, attributes: plain(span.attributes), events: (span.events ?? []).map((event) => ({ name: event.name, attributes: plain(event.attributes) })), resource: plain(resource.attributes), scope: scope.name });
          }
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    bodies,
    spans: () => [...received],
    async waitFor(ready, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ready([...received])) {
        if (Date.now() > deadline) {
          throw new Error(`spans expected did not arrive within ${timeoutMs} ms; received:\n${received.map((s) => `${s.name} ${s.traceId}/${s.spanId}<-${s.parentSpanId}`).join('\n')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return [...received];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
