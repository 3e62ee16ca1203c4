import { describe, expect, it } from '@jest/globals';
import { tracingSettings } from '../../src/observability/tracing/settings.js';

describe('tracingSettings (the OTEL_* variables that turn tracing on)', () => {
  it('when no OTLP endpoint is set, then tracing is off, whatever else is set', () => {
    expect(tracingSettings({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toEqual({ enabled: false, reason: 'no OTLP endpoint configured' });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }).enabled).toBe(false);
  });

  it('when an endpoint is set, then tracing is on over http/protobuf, the specification default', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({ enabled: true, protocol: 'http/protobuf', endpoint: 'http://collector:4318', warnings: [] });
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toMatchObject({ enabled: true, protocol: 'http/json', endpoint: 'http://tempo:4318/v1/traces' });
  });

  it('when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, then tracing is off even with an endpoint', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'TRUE' }).enabled).toBe(false);
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
  });

  it('when a protocol this API cannot send is asked for (grpc), then it says so and sends http/protobuf', () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatchObject({
      protocol: 'http/protobuf',
      warnings: [expect.stringContaining('"grpc" is not supported')],
    });
  });
});
