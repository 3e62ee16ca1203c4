import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startMetricsServer } from '../../src/http/metrics-server.js';
import type { RunningServer } from '../../src/http/server.js';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
let metricsServer: RunningServer;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
  metricsServer = await startMetricsServer(api.metrics.registry, { host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await metricsServer.close();
  await api.close();
  await issuer.close();
});

const scrape = async () => {
  const res = await request(metricsServer.url).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text;
};

describe('GET /metrics on the metrics listener', () => {
  it('when real requests were served, then request durations are labelled by route pattern, never by id', async () => {
    const token = await issuer.mint({ sub: 'auth0|metrics' });
    const note = await api.request().post('/v1/notes').auth(token, { type: 'bearer' }).send({ title: 'count me' });
    await api.request().get(`/v1/notes/${note.body.id}`).auth(token, { type: 'bearer' });
    await api.request().get('/no/such/path');
    const text = await scrape();
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/v1\/notes\/:id",status_code="200"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="POST",route="\/v1\/notes",status_code="201"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/);
    expect(text).not.toContain(note.body.id);
  });

  it('when requests are refused, then auth_rejections_total counts them by OAuth error code', async () => {
    await api.request().get('/v1/me');
    await api.request().get('/v1/me').auth('garbage', { type: 'bearer' });
    await api.request().get('/v1/notes').auth(await issuer.mint({ scope: 'openid' }), { type: 'bearer' });
    const text = await scrape();
    expect(text).toMatch(/auth_rejections_total\{error="none"\} 1/);
    expect(text).toMatch(/auth_rejections_total\{error="invalid_token"\} 1/);
    expect(text).toMatch(/auth_rejections_total\{error="insufficient_scope"\} 1/);
  });

  it('when refusals go on between scrapes, then each scrape shows the running total, none counted twice or lost', async () => {
    // Refusals are tallied between scrapes and handed to the counter as it is scraped (src/observability/metrics.ts).
    const before = Number(/auth_rejections_total\{error="invalid_token"\} (\d+)/.exec(await scrape())?.[1] ?? 0);
    const forged = 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    for (let i = 0; i < 3; i++) await api.request().get('/v1/me').set('Authorization', forged).expect(401);
    expect(await scrape()).toMatch(new RegExp(`auth_rejections_total\\{error="invalid_token"\\} ${before + 3}\\n`));
    expect(await scrape()).toMatch(new RegExp(`auth_rejections_total\\{error="invalid_token"\\} ${before + 3}\\n`));
    await api.request().get('/v1/me').set('Authorization', forged).expect(401);
    expect(await scrape()).toMatch(new RegExp(`auth_rejections_total\\{error="invalid_token"\\} ${before + 4}\\n`));
  });

  it('when keys were fetched, then issuer fetches are counted by kind and outcome, and database queries are timed', async () => {
    const text = await scrape();
    // Each once: the token library fetches them for the first token, and the key-id gate learns from that verification.
    expect(text).toMatch(/issuer_fetches_total\{kind="discovery",outcome="ok"\} 1\n/);
    expect(text).toMatch(/issuer_fetches_total\{kind="jwks",outcome="ok"\} 1\n/);
    expect(text).toMatch(/db_query_duration_seconds_count\{operation="insert"\} [1-9]/);
  });

  it('when any other path is asked of the metrics listener, then 404', async () => {
    expect((await request(metricsServer.url).get('/v1/me')).status).toBe(404);
  });
});
