import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
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

describe('GET /.well-known/oauth-protected-resource (RFC 9728)', () => {
  it('when fetched, then it names this resource, its issuer, its scopes (from the route guards) and how to send tokens', async () => {
    const res = await api.request().get('/.well-known/oauth-protected-resource');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      resource: issuer.audience,
      resource_name: 'Notes API',
      authorization_servers: [issuer.url],
      scopes_supported: ['delete:notes', 'read:notes', 'write:notes'],
      bearer_methods_supported: ['header'],
      resource_documentation: 'https://notes.example.test/docs',
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256', 'RS256']),
      dpop_bound_access_tokens_required: false,
    });
  });

  it('when the resource identifier has a path, then the path-suffixed well-known URL serves the same document (§3.1)', async () => {
    const suffixed = await api.request().get('/.well-known/oauth-protected-resource/api');
    expect(suffixed.status).toBe(200);
    expect(suffixed.body.resource).toBe('https://notes.example.test/api');
  });

  it('when a client knows only the API, then the 401 challenge leads it to the metadata and from there to the issuer', async () => {
    const challenge = await api.request().get('/v1/notes');
    const metadataUrl = challengeOf(challenge.headers['www-authenticate'], 'Bearer')!.params.resource_metadata!;
    expect(metadataUrl).toBe('https://notes.example.test/.well-known/oauth-protected-resource/api');
    // The identifier's host is not this test machine: fetch the same path from the API itself.
    const metadata = await api.request().get(new URL(metadataUrl).pathname);
    expect(metadata.body.resource).toBe(issuer.audience);
    const discovery = await request(metadata.body.authorization_servers[0]).get('.well-known/openid-configuration');
    expect(discovery.body.issuer).toBe(issuer.url);
  });

  it('when DPOP=disabled, then no DPoP members are advertised', async () => {
    const plain = await startApi(issuer, { DPOP: 'disabled' });
    try {
      const res = await plain.request().get('/.well-known/oauth-protected-resource');
      expect(res.body).not.toHaveProperty('dpop_signing_alg_values_supported');
    } finally {
      await plain.close();
    }
  });

  it('when the identifier is the API URL itself, then resource_metadata is on the API', async () => {
    const local = await startApi({ url: issuer.url, audience: 'http://127.0.0.1:3000/' }, {});
    try {
      const res = await local.request().get('/v1/me');
      expect(challengeOf(res.headers['www-authenticate'], 'Bearer')!.params.resource_metadata).toBe('http://127.0.0.1:3000/.well-known/oauth-protected-resource');
      expect((await local.request().get('/.well-known/oauth-protected-resource')).body.resource).toBe('http://127.0.0.1:3000/');
    } finally {
      await local.close();
    }
  });
});
