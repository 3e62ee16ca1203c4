import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { pino, type Logger } from 'pino';
import { mergeTraceFields, traceFields } from '../../src/observability/tracing/log-fields.js';

// The logger's trace fields (log-fields.ts) with pino as createLogger sets it up while tracing, and the SDK's own
// async context (NodeTracerProvider.register installs it, as start.ts does): a line is written inside a request's
// context or outside any, and read back as the bytes pino wrote.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const requestSpan = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE });

let provider: NodeTracerProvider;
let written: string[];
let logger: Logger;
beforeAll(() => {
  provider = new NodeTracerProvider();
  provider.register();
  written = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString());
      done();
    },
  });
  logger = pino({ mixin: traceFields, mixinMergeStrategy: mergeTraceFields }, sink);
});
afterAll(async () => {
  await provider.shutdown();
  context.disable();
  trace.disable();
});

/** Writes through `write` and returns the one line it wrote, as text. */
function lineOf(write: () => void): string {
  const before = written.length;
  write();
  expect(written).toHaveLength(before + 1);
  return written[before]!;
}
const inRequest = (write: () => void) => lineOf(() => context.with(trace.setSpan(ROOT_CONTEXT, requestSpan), write));

describe('trace fields on log lines', () => {
  it("when a line is written inside a request, then it carries the request's trace_id and span_id, before its own fields", () => {
    const text = inRequest(() => logger.warn({ detail: 'the key set was slow' }, 'issuer slow'));
    expect(JSON.parse(text)).toMatchObject({ trace_id: TRACE_ID, span_id: SPAN_ID, detail: 'the key set was slow', msg: 'issuer slow' });
    expect(text.indexOf('"trace_id"')).toBeLessThan(text.indexOf('"detail"'));
  });

  it('when a line with no fields of its own is written inside a request, then it carries the trace fields too', () => {
    expect(JSON.parse(inRequest(() => logger.info('checked')))).toMatchObject({ trace_id: TRACE_ID, span_id: SPAN_ID, msg: 'checked' });
  });

  it('when a line brings its own trace fields (the access log line), then they are written once, as it gave them', () => {
    const own = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), res: { status: 200 } };
    const text = inRequest(() => logger.info(own, 'request completed'));
    expect(JSON.parse(text)).toMatchObject(own);
    expect(text.match(/"trace_id"/g)).toHaveLength(1);
    expect(text.match(/"span_id"/g)).toHaveLength(1);
  });

  it('when a line is written outside any request, then it has no trace fields and its own are untouched', () => {
    const fields = { phase: 'start-up' };
    const line = JSON.parse(lineOf(() => logger.info(fields, 'listening'))) as Record<string, unknown>;
    expect(line).toMatchObject({ phase: 'start-up', msg: 'listening' });
    expect(line).not.toHaveProperty('trace_id');
    expect(line).not.toHaveProperty('span_id');
    expect(fields).toEqual({ phase: 'start-up' });
  });
});
