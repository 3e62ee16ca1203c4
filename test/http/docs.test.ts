import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
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

describe('GET /openapi.yaml', () => {
  it('when fetched, then it is the repository spec as YAML', async () => {
    const res = await api.request().get('/openapi.yaml').buffer(true).parse((r, done) => {
      let text = '';
      r.on('data', (chunk: Buffer) => (text += chunk.toString()));
      r.on('end', () => done(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.body).toBe(fs.readFileSync('openapi.yaml', 'utf8'));
    expect(parse(res.body as string).openapi).toMatch(/^3\.1\./);
  });
});

describe('GET /docs', () => {
  it('when a browser opens it, then Swagger UI is served from this API, not a CDN', async () => {
    const page = await api.request().get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset.startsWith('/docs/')).toBe(true);
      expect((await api.request().get(asset)).status).toBe(200);
    }
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });
});
