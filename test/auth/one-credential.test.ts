import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { createDpopKey, dpopProof, type DpopKey } from '../support/dpop.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
let valid: string;
let key: DpopKey;
let bound: string;
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer);
  valid = await issuer.mint();
  key = await createDpopKey();
  bound = await issuer.mint({ cnf: { jkt: key.jkt } });
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * Sends header lines exactly as given (name, value, name, value…): supertest and fetch merge or replace a repeated
 * header, which is the very case under test.
 */
function sendRaw(path: string, rawHeaders: string[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, api.url);
    const request = http.request(url, { method: 'GET', headers: ['Host', url.host, ...rawHeaders] }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode!, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

const DPOP_ALGS = 'ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA';
const DESCRIPTION = 'The request presents more than one Authorization header; send exactly one credential.';

/** RFC 6750 §3.1: 400 invalid_request, the code in the challenge of the first header's scheme, no resource_metadata. */
function expectRefusedAsTwoCredentials(res: RawResponse, errorScheme: 'Bearer' | 'DPoP') {
  expect(res.status).toBe(400);
  const error = `error="invalid_request", error_description="${DESCRIPTION}"`;
  expect(res.headers['www-authenticate']).toBe(
    errorScheme === 'Bearer'
      ? `Bearer realm="notes-api", ${error}, DPoP algs="${DPOP_ALGS}"`
      : `Bearer realm="notes-api", DPoP ${error}, algs="${DPOP_ALGS}"`,
  );
  expect(res.body).toMatchObject({ type: 'urn:notes-api:problem:invalid-request', status: 400, error: 'invalid_request', action: 'fix_request', detail: DESCRIPTION });
}

describe('RFC 6750 §2, §3.1: one credential per request', () => {
  it('when one valid bearer token is sent (raw headers), then 200: the check refuses duplicates only', async () => {
    expect((await sendRaw('/v1/me', ['Authorization', `Bearer ${valid}`])).status).toBe(200);
  });

  it('when a valid bearer token comes first and a second Authorization header follows, then 400 invalid_request', async () => {
    expectRefusedAsTwoCredentials(await sendRaw('/v1/me', ['Authorization', `Bearer ${valid}`, 'Authorization', 'Bearer x']), 'Bearer');
  });

  it('when the second Authorization header holds the valid token, then 400 invalid_request (not 401 invalid_token)', async () => {
    expectRefusedAsTwoCredentials(await sendRaw('/v1/me', ['Authorization', 'Bearer x', 'Authorization', `Bearer ${valid}`]), 'Bearer');
  });

  it('when the duplicate differs only in case (authorization, Authorization), then 400 invalid_request', async () => {
    expectRefusedAsTwoCredentials(await sendRaw('/v1/me', ['authorization', `Bearer ${valid}`, 'Authorization', `Bearer ${valid}`]), 'Bearer');
  });

  it('when the duplicate is spelled in capitals (AUTHORIZATION), then 400 invalid_request', async () => {
    expectRefusedAsTwoCredentials(await sendRaw('/v1/me', ['Authorization', `Bearer ${valid}`, 'AUTHORIZATION', 'Bearer x']), 'Bearer');
  });

  it('when the two headers use different schemes (Basic then Bearer), then 400 invalid_request', async () => {
    expectRefusedAsTwoCredentials(await sendRaw('/v1/me', ['Authorization', 'Basic YWxpY2U6c2VjcmV0', 'Authorization', `Bearer ${valid}`]), 'Bearer');
  });

  it('when the first header is empty and the second holds a token, then 400 invalid_request', async () => {
    expectRefusedAsTwoCredentials(await sendRaw('/v1/me', ['Authorization', '', 'Authorization', `Bearer ${valid}`]), 'Bearer');
  });

  it('when a valid DPoP token and proof come with a second DPoP Authorization header after, then 400 invalid_request', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: `${api.url}/v1/me`, accessToken: bound });
    const res = await sendRaw('/v1/me', ['Authorization', `DPoP ${bound}`, 'DPoP', proof, 'Authorization', `DPoP ${bound}`]);
    expectRefusedAsTwoCredentials(res, 'DPoP');
  });

  it('when a Bearer header comes before a valid DPoP one, then 400 invalid_request in the Bearer challenge', async () => {
    const proof = await dpopProof(key, { method: 'GET', url: `${api.url}/v1/me`, accessToken: bound });
    const res = await sendRaw('/v1/me', ['Authorization', `Bearer ${valid}`, 'Authorization', `DPoP ${bound}`, 'DPoP', proof]);
    expectRefusedAsTwoCredentials(res, 'Bearer');
  });

  it('when a valid DPoP token comes with two DPoP proofs, then it stays refused as 401 invalid_dpop_proof', async () => {
    const url = `${api.url}/v1/me`;
    const [first, second] = [await dpopProof(key, { method: 'GET', url, accessToken: bound }), await dpopProof(key, { method: 'GET', url, accessToken: bound })];
    const res = await sendRaw('/v1/me', ['Authorization', `DPoP ${bound}`, 'DPoP', first, 'dpop', second]);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_dpop_proof' });
  });
});
