import type { HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';

/** Query parameters that could carry a credential: recorded as `REDACTED` in an outgoing call's `url.full`. */
const CREDENTIAL_PARAMETERS = ['access_token', 'token', 'id_token', 'refresh_token', 'code', 'client_secret', 'sig', 'Signature'];

/**
 * How the HTTP instrumentation records this API's own calls (client spans: the token library's discovery and
 * key-set fetches, which use `http.get`), with the W3C `traceparent` they carry. This API's requests are not its
 * work: their server spans come from request-spans.ts, at a fraction of the cost. No header value is recorded (the
 * instrumentation records headers only when told to, and is not).
 */
export function httpInstrumentationConfig(): HttpInstrumentationConfig {
  return {
    disableIncomingRequestInstrumentation: true,
    redactedQueryParams: CREDENTIAL_PARAMETERS,
  };
}
