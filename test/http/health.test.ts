import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

describe('GET /healthz', () => {
  it('when the process runs, then 200 without a token', async () => {
    const res = await api.request().get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('when the issuer serves its keys and the database answers, then 200', async () => {
    const res = await api.request().get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', checks: { database: 'ok', keys: 'ok' } });
  });

  it('when the issuer goes down, then 503 naming the keys, and 200 again when it is back', async () => {
    issuer.setDown(true);
    try {
      const res = await api.request().get('/readyz');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 503, checks: { database: 'ok', keys: 'failing' } });
    } finally {
      issuer.setDown(false);
    }
    expect((await api.request().get('/readyz')).status).toBe(200);
  });

  it('when the database is closed, then 503 naming the database', async () => {
    const failing = await startApi(issuer);
    await failing.closeStorage();
    const res = await failing.request().get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks).toEqual({ database: 'failing', keys: 'ok' });
    await failing.close();
  });
});

describe('an issuer that cannot be reached while a token is checked', () => {
  it('when discovery fails for a new API instance, then 503 with retry, not 401', async () => {
    const cold = await startApi(issuer);
    const token = await issuer.mint();
    issuer.setDown(true);
    try {
      const res = await cold.request().get('/v1/me').auth(token, { type: 'bearer' });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:service-unavailable', action: 'retry' });
    } finally {
      issuer.setDown(false);
      await cold.close();
    }
  });

  it('when the issuer goes down after the keys were fetched, then cached keys keep verifying tokens', async () => {
    const token = await issuer.mint();
    expect((await api.request().get('/v1/me').auth(token, { type: 'bearer' })).status).toBe(200);
    issuer.setDown(true);
    try {
      expect((await api.request().get('/v1/me').auth(token, { type: 'bearer' })).status).toBe(200);
    } finally {
      issuer.setDown(false);
    }
  });
});
