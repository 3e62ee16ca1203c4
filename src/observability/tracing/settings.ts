/** The OTLP encodings this API can send traces in (`OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`). */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export type TracingSettings =
  | { readonly enabled: false; readonly reason: string }
  | { readonly enabled: true; readonly protocol: OtlpProtocol; readonly endpoint: string; readonly warnings: readonly string[] };

type Environment = Readonly<Record<string, string | undefined>>;

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/**
 * Whether to trace, from the OpenTelemetry SDK's own variables (the specification's "SDK environment variables";
 * the SDK packages read the rest themselves: the exporter its endpoint, headers, timeout and compression, the tracer
 * provider `OTEL_TRACES_SAMPLER`/`_ARG`, the span processor `OTEL_BSP_*`, the resource `OTEL_SERVICE_NAME` and
 * `OTEL_RESOURCE_ATTRIBUTES`). Off unless an OTLP endpoint is configured, so a deployment that says nothing pays
 * nothing: no SDK is loaded and no exporter is made.
 *
 * @example
 * tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }); // { enabled: true, protocol: 'http/protobuf', … }
 */
export function tracingSettings(env: Environment): TracingSettings {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { enabled: false, reason: 'OTEL_SDK_DISABLED=true' };
  const exporters = env.OTEL_TRACES_EXPORTER?.split(',').map((name) => name.trim().toLowerCase());
  if (exporters?.includes('none')) return { enabled: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  const endpoint = set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT : env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!set(endpoint)) return { enabled: false, reason: 'no OTLP endpoint configured' };

  const warnings: string[] = [];
  if (exporters && exporters.some((name) => name !== 'otlp' && name !== '')) {
    warnings.push(`OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: only "otlp" is supported; exporting OTLP`);
  }
  const asked = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  let protocol: OtlpProtocol = 'http/protobuf'; // the specification's default
  if (asked === 'http/json') protocol = 'http/json';
  else if (set(asked) && asked !== 'http/protobuf') warnings.push(`OTLP protocol "${asked}" is not supported; sending http/protobuf`);
  return { enabled: true, protocol, endpoint: endpoint.trim(), warnings };
}
