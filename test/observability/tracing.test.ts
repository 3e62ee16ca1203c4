import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDpopKey, dpopProof } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';
import { parseLogLines } from '../support/log-capture.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { createTestSchema, type TestSchema } from '../support/postgres.js';
import { testRedisEnv } from '../support/redis.js';
import { explained, startReplicas, type Replica, type Replicas } from '../support/replicas.js';

// The traced API runs as real processes (src/main.ts, as `npm run dev` starts it): the SDK is process-wide state, and
// it must be started before the app loads `http`, `pg` and `ioredis`, as main.ts does.
// Up to two API processes start at once on two busy cores.
const START_TIMEOUT_MS = 90_000;

let issuer: TestIssuer;
let receiver: OtlpReceiver;
beforeAll(async () => {
  [issuer, receiver] = await Promise.all([startTestIssuer(), startOtlpReceiver()]);
});
afterAll(async () => {
  await Promise.all([issuer.close(), receiver.close()]);
});

const TRACING_ENV = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'notes-api-test' };
const PARENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN_ID = '00f067aa0ba902b7';

const traceIdOf = (serverTiming: string | null) => /traceparent;desc="00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]"/.exec(serverTiming ?? '')?.[1];
const inTrace = (spans: ReceivedSpan[], traceId: string) => spans.filter((span) => span.traceId === traceId);
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((span) => span.parentSpanId === parent.spanId);

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set): two replicas sharing PostgreSQL and Redis', () => {
  let schema: TestSchema;
  let group: Replicas;
  let first: Replica;
  let second: Replica;
  beforeAll(async () => {
    schema = await createTestSchema();
    group = await startReplicas({
      count: 2,
      issuer,
      startTimeoutMs: START_TIMEOUT_MS,
      metrics: true,
      env: { DATABASE_URL: schema.url, ...(await testRedisEnv('tracing')), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...TRACING_ENV },
    });
    [first, second] = group.replicas as [Replica, Replica];
  }, START_TIMEOUT_MS * 2);
  afterAll(async () => {
    await group?.close();
    await schema?.drop();
  });

  it(
    'when GET /v1/notes brings a traceparent, then its server span is a child of it named by the route, with children for token verification (and the key-set fetch, which carried a traceparent to the issuer) and the query, and the rate-limit decision as an event; the response and the log line carry the trace id',
    explained(() => group, async () => {
      const token = await issuer.mint();
      const response = await fetch(`${first.url}/v1/notes`, {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${PARENT_TRACE_ID}-${PARENT_SPAN_ID}-01` },
      });
      expect(response.status).toBe(200);
      expect(traceIdOf(response.headers.get('server-timing'))).toBe(PARENT_TRACE_ID);

      const spans = inTrace(
        await receiver.waitFor((all) => inTrace(all, PARENT_TRACE_ID).some((span) => span.kind === 2 && span.name.startsWith('GET /v1/notes'))),
        PARENT_TRACE_ID,
      );
      const server = spans.find((span) => span.kind === 2 && span.attributes['url.path'] === '/v1/notes')!;
      expect(server).toMatchObject({ name: 'GET /v1/notes', parentSpanId: PARENT_SPAN_ID });
      expect(server.attributes).toMatchObject({ 'http.route': '/v1/notes', 'http.request.method': 'GET', 'http.response.status_code': 200 });
      expect(server.status.code ?? 0).toBe(0);

      const verification = childrenOf(spans, server).find((span) => span.name === 'verify access token')!;
      expect(verification.attributes).toMatchObject({ 'auth.scheme': 'bearer', 'auth.token.cache': 'miss', 'auth.token.alg': 'RS256' });
      expect(verification.attributes['auth.token.kid']).toEqual(expect.any(String));
      // The first request after start fetched the issuer's metadata and keys, inside the verification.
      const fetches = spans.filter((span) => span.kind === 3 && span.parentSpanId === verification.spanId);
      expect(fetches.map((span) => new URL(String(span.attributes['url.full'])).pathname)).toEqual(
        expect.arrayContaining(['/.well-known/openid-configuration', '/.well-known/jwks.json']),
      );
      const jwksRequest = issuer.received.find((request) => request.path === '/.well-known/jwks.json' && String(request.headers.traceparent).includes(PARENT_TRACE_ID));
      expect(jwksRequest?.headers.traceparent).toMatch(new RegExp(`^00-${PARENT_TRACE_ID}-[0-9a-f]{16}-01$`));

      // The rate-limit decision is an event on the server span, not a span of its own.
      expect(server.events).toContainEqual({ name: 'rate limit', attributes: { 'ratelimit.policy': 'user', 'ratelimit.limit': expect.any(Number), 'ratelimit.limited': false } });
      expect(spans.filter((span) => span.name === 'rate limit')).toEqual([]);

      const queries = spans.filter((span) => span.attributes['db.system.name'] === 'postgresql' || span.attributes['db.system'] === 'postgresql');
      expect(queries.length).toBeGreaterThan(0);
      expect(queries.some((span) => /select/i.test(String(span.attributes['db.query.text'] ?? span.attributes['db.statement'])))).toBe(true);

      const line = parseLogLines(first.output()).find((entry) => entry.msg === 'request completed' && (entry.req as { url?: string })?.url === '/v1/notes');
      expect(line).toMatchObject({ trace_id: PARENT_TRACE_ID, span_id: server.spanId });
    }),
  );

  it(
    'when a request has no traceparent or a malformed one, then a new trace is started and the request is answered as usual',
    explained(() => group, async () => {
      const token = await issuer.mint();
      for (const traceparent of ['not-a-traceparent', `00-${'0'.repeat(32)}-${PARENT_SPAN_ID}-01`]) {
        const response = await fetch(`${first.url}/v1/me`, { headers: { authorization: `Bearer ${token}`, traceparent } });
        expect(response.status).toBe(200);
        const traceId = traceIdOf(response.headers.get('server-timing'));
        expect(traceId).toMatch(/^[0-9a-f]{32}$/);
        const spans = await receiver.waitFor((all) => inTrace(all, traceId!).some((span) => span.kind === 2));
        const server = inTrace(spans, traceId!).find((span) => span.kind === 2)!;
        expect(server).toMatchObject({ name: 'GET /v1/me', parentSpanId: undefined });
      }
    }),
  );

  it(
    "when a caller's traceparent says not sampled, then the request keeps its trace id (response, log line) and nothing of it is exported",
    explained(() => group, async () => {
      const token = await issuer.mint();
      const unsampled = '5bf92f3577b34da6a3ce929d0e0e4737';
      const response = await fetch(`${first.url}/v1/notes`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${unsampled}-${PARENT_SPAN_ID}-00` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('server-timing')).toMatch(new RegExp(`^traceparent;desc="00-${unsampled}-[0-9a-f]{16}-00"$`));
      // A sampled request after it: once its spans are in, the unsampled one's would be too.
      const sampled = await fetch(`${first.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      const sampledId = traceIdOf(sampled.headers.get('server-timing'))!;
      const spans = await receiver.waitFor((all) => inTrace(all, sampledId).some((span) => span.kind === 2));
      expect(inTrace(spans, unsampled)).toEqual([]);
      const line = parseLogLines(first.output()).find((entry) => entry.trace_id === unsampled);
      expect(line).toMatchObject({ msg: 'request completed' });
    }),
  );

  it(
    'when a sampled GET /v1/notes is followed by an unsampled one, then /metrics is OpenMetrics whose request and query histograms carry the sampled trace as exemplars, never the unsampled one',
    explained(() => group, async () => {
      const token = await issuer.mint();
      const sampledId = '6bf92f3577b34da6a3ce929d0e0e4738';
      const unsampledId = '7bf92f3577b34da6a3ce929d0e0e4739';
      const sampled = await fetch(`${second.url}/v1/notes`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${sampledId}-${PARENT_SPAN_ID}-01` } });
      expect(sampled.status).toBe(200);
      const serverSpanId = /-([0-9a-f]{16})-01"$/.exec(sampled.headers.get('server-timing') ?? '')?.[1];
      // After the sampled one: had it an exemplar, it would take the sampled one's place in the same buckets.
      const unsampled = await fetch(`${second.url}/v1/notes`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${unsampledId}-${PARENT_SPAN_ID}-00` } });
      expect(unsampled.status).toBe(200);

      const scrape = await fetch(second.metricsUrl!);
      expect(scrape.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      const text = await scrape.text();
      expect(text.endsWith('\n# EOF\n')).toBe(true);
      const lines = text.split('\n');
      const exemplarIn = (metric: string) =>
        lines.filter((line) => line.startsWith(`${metric}_bucket{`) && line.includes(` # {trace_id="${sampledId}",`));
      const requestBuckets = exemplarIn('http_request_duration_seconds');
      expect(requestBuckets).toEqual([expect.stringMatching(new RegExp(`^http_request_duration_seconds_bucket\\{[^}]*route="/v1/notes"[^}]*\\} \\d+ # \\{trace_id="${sampledId}",span_id="${serverSpanId}"\\} [0-9.e-]+ [0-9.]+$`))]);
      expect(exemplarIn('db_query_duration_seconds')).toEqual([
        expect.stringMatching(new RegExp(`^db_query_duration_seconds_bucket\\{[^}]*operation="page"[^}]*\\} \\d+ # \\{trace_id="${sampledId}",span_id="[0-9a-f]{16}"\\} `)),
      ]);
      expect(text).not.toContain(unsampledId);
      // Counters in OpenMetrics: the family without `_total`, its samples with it.
      expect(text).toMatch(/^# TYPE issuer_fetches counter$/m);
      expect(text).toMatch(/^issuer_fetches_total\{/m);
    }),
  );

  it(
    'when each replica serves a request, then its spans carry its own service.instance.id, and a 4xx is not a span error',
    explained(() => group, async () => {
      const answers = await Promise.all([first, second].map((replica) => fetch(`${replica.url}/v1/notes/does-not-exist`, { headers: { authorization: 'Bearer not-a-token' } })));
      expect(answers.map((answer) => answer.status)).toEqual([401, 401]);
      const traceIds = answers.map((answer) => traceIdOf(answer.headers.get('server-timing'))!);
      const spans = await receiver.waitFor((all) => traceIds.every((id) => inTrace(all, id).some((span) => span.kind === 2)));
      const servers = traceIds.map((id) => inTrace(spans, id).find((span) => span.kind === 2)!);
      const instances = servers.map((span) => span.resource['service.instance.id']);
      expect(instances[0]).toEqual(expect.any(String));
      expect(instances[0]).not.toBe(instances[1]);
      for (const server of servers) {
        expect(server.resource['service.name']).toBe('notes-api-test');
        expect(server.name).toBe('GET /v1/notes/{id}');
        expect(server.status.code ?? 0).toBe(0);
        expect(server.attributes['problem.type']).toBe('urn:notes-api:problem:invalid-token');
      }
    }),
  );

  it(
    'when requests carry a bearer token, a DPoP-bound token with its proof, a cookie and other headers, then no exported byte and no log line holds any of their values',
    explained(() => group, async () => {
      const bearer = await issuer.mint({ sub: 'auth0|person-identifying-subject' });
      const key = await createDpopKey();
      const bound = await issuer.mint({ cnf: { jkt: key.jkt } });
      const proof = await dpopProof(key, { method: 'GET', url: `${second.url}/v1/me`, accessToken: bound });
      const secrets = {
        cookie: 'session=cookie-value-7f3a9c',
        'x-api-key': 'header-value-b81d44e2',
        'user-agent': 'user-agent-value-5e0c1d',
        'x-forwarded-for': '203.0.113.77',
      };
      const sent = [
        await fetch(`${first.url}/v1/me`, { headers: { authorization: `Bearer ${bearer}`, ...secrets } }),
        await fetch(`${second.url}/v1/me`, { headers: { authorization: `DPoP ${bound}`, dpop: proof, ...secrets } }),
      ];
      expect(sent.map((answer) => answer.status)).toEqual([200, 200]);
      const traceIds = sent.map((answer) => traceIdOf(answer.headers.get('server-timing'))!);
      const spans = await receiver.waitFor((all) => traceIds.every((id) => inTrace(all, id).some((span) => span.kind === 2)));
      // The DPoP proof's id went to Redis (replay protection), traced as a command without its key or value.
      const redis = inTrace(spans, traceIds[1]!).filter((span) => span.attributes['db.system'] === 'redis' || span.attributes['db.system.name'] === 'redis');
      expect(redis.length).toBeGreaterThan(0);

      const exported = Buffer.concat(receiver.bodies);
      const logged = Buffer.from(group.replicas.map((replica) => replica.output()).join('\n'));
      const forbidden = [bearer, bound, proof, ...Object.values(secrets), 'person-identifying-subject', ...[bearer, bound, proof].map((jwt) => jwt.split('.')[2]!)];
      for (const value of forbidden) {
        expect({ value, exported: exported.includes(value) }).toEqual({ value, exported: false });
      }
      for (const value of [bearer, bound, proof, secrets.cookie, secrets['x-api-key']]) {
        expect({ value, logged: logged.includes(value) }).toEqual({ value, logged: false });
      }
    }),
  );
});

describe('tracing on, SQLite (the default database)', () => {
  it('when a sampled GET /v1/notes reads SQLite, then its statement is a client span of the request named by operation and table, without values', async () => {
    const group = await startReplicas({ count: 1, issuer, startTimeoutMs: START_TIMEOUT_MS, env: { ...TRACING_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    try {
      const token = await issuer.mint({ sub: 'sqlite-traced-owner' });
      const response = await fetch(`${group.replicas[0]!.url}/v1/notes`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      const traceId = traceIdOf(response.headers.get('server-timing'))!;
      const spans = inTrace(await receiver.waitFor((all) => inTrace(all, traceId).some((span) => span.kind === 2)), traceId);
      const server = spans.find((span) => span.kind === 2)!;
      expect(childrenOf(spans, server).filter((span) => span.kind === 3)).toEqual([
        expect.objectContaining({ name: 'SELECT notes', attributes: { 'db.system.name': 'sqlite', 'db.operation.name': 'SELECT', 'db.collection.name': 'notes' } }),
      ]);
    } finally {
      await group.close();
    }
  }, START_TIMEOUT_MS * 2);
});

describe('tracing off (no OTLP endpoint)', () => {
  it('when OTEL_EXPORTER_OTLP_ENDPOINT is unset, then no trace header is sent, no log line has a trace id, nothing is exported, and /metrics stays the Prometheus text format without exemplars', async () => {
    const before = receiver.bodies.length;
    const group = await startReplicas({ count: 1, issuer, startTimeoutMs: START_TIMEOUT_MS, metrics: true, env: { ...TRACING_ENV, OTEL_TRACES_SAMPLER: 'always_on' } });
    try {
      const token = await issuer.mint();
      const response = await fetch(`${group.replicas[0]!.url}/v1/me`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${PARENT_TRACE_ID}-${PARENT_SPAN_ID}-01` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('server-timing')).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const lines = parseLogLines(group.replicas[0]!.output());
      expect(lines.some((line) => line.msg === 'request completed')).toBe(true);
      expect(lines.filter((line) => 'trace_id' in line || /tracing/.test(line.msg))).toEqual([]);
      expect(receiver.bodies.length).toBe(before);
      // Metrics as without tracing: the Prometheus text format, no exemplar.
      const scrape = await fetch(group.replicas[0]!.metricsUrl!);
      expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = await scrape.text();
      expect(text).toMatch(/^http_request_duration_seconds_bucket\{[^}]*route="\/v1\/me"/m);
      expect(text).not.toMatch(/# EOF| # \{/);
    } finally {
      await group.close();
    }
  }, START_TIMEOUT_MS * 2);
});

describe('tracing on, collector down', () => {
  it('when the endpoint refuses connections, then requests are answered as usual and the outage is logged once', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadEndpoint = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const group = await startReplicas({
      count: 1,
      issuer,
      startTimeoutMs: START_TIMEOUT_MS,
      env: {
        ...TRACING_ENV,
        OTEL_EXPORTER_OTLP_ENDPOINT: deadEndpoint,
        // The exporter retries a refused export with backoff within this time, then gives the batch up.
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
        OTEL_BSP_MAX_QUEUE_SIZE: '64',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '16',
      },
    });
    try {
      const token = await issuer.mint();
      const url = group.replicas[0]!.url;
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })));
        expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const exportWarnings = () => parseLogLines(group.replicas[0]!.output()).filter((line) => line.level >= 40 && /trace export/.test(line.msg));
      for (let waited = 0; exportWarnings().length === 0 && waited < 8000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
      // More batches fail meanwhile: still one warning.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const warnings = exportWarnings();
      expect(warnings).toEqual([expect.objectContaining({ msg: expect.stringContaining('trace export failing'), endpoint: deadEndpoint })]);
    } finally {
      await group.close();
    }
  }, START_TIMEOUT_MS * 2);
});

describe('tracing on, stopping', () => {
  it('when a replica is stopped with spans still queued, then they are exported before it exits', async () => {
    const group = await startReplicas({
      count: 1,
      issuer,
      startTimeoutMs: START_TIMEOUT_MS,
      // A batch would wait a minute: only the flush at shutdown can send this one.
      env: { ...TRACING_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '60000' },
    });
    const traceId = 'b7ad6b7169203331b7ad6b7169203331';
    try {
      const token = await issuer.mint();
      const response = await fetch(`${group.replicas[0]!.url}/v1/me`, {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${PARENT_SPAN_ID}-01` },
      });
      expect(response.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(inTrace(receiver.spans(), traceId)).toEqual([]);
    } finally {
      await group.close();
    }
    // close() resolved once the process had exited: what it flushed has arrived by now.
    expect(inTrace(receiver.spans(), traceId).map((span) => span.name)).toContain('GET /v1/me');
  }, START_TIMEOUT_MS * 2);
});
