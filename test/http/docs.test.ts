import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { parse } from 'yaml';
import { docsRouter } from '../../src/docs/docs.router.js';
import { signInEndpoints } from '../../src/docs/sign-in-endpoints.js';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
let api: TestApi;
const PUBLIC_URL = 'https://api.example.test';
beforeAll(async () => {
  issuer = await startTestIssuer();
  api = await startApi(issuer, { PUBLIC_URL, DOCS_CLIENT_ID: 'spa-client-123' });
});
afterAll(async () => {
  await api.close();
  await issuer.close();
});

type Spec = {
  openapi: string;
  servers: { url: string }[];
  components: { securitySchemes: Record<string, { description?: string; openIdConnectUrl?: string; flows?: { authorizationCode: { authorizationUrl: string; tokenUrl: string } } }> };
};

/** GET `url` with the body read as text, whatever its type. */
const getText = (target: TestApi, url: string) =>
  target
    .request()
    .get(url)
    .buffer(true)
    .parse((res, done) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => done(null, body));
    });

async function servedSpec(target: TestApi = api): Promise<{ status: number; headers: Record<string, string>; spec: Spec; raw: string }> {
  const res = await getText(target, '/openapi.yaml');
  return { status: res.status, headers: res.headers as Record<string, string>, spec: parse(res.body as string) as Spec, raw: res.body as string };
}

/** A server on loopback that accepts connections and never answers: an issuer that hangs. */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('GET /openapi.yaml', () => {
  it('when fetched, then it is the repository spec naming the configured issuer (its endpoints from its discovery document) and this API as its server', async () => {
    const { status, headers, spec } = await servedSpec();
    expect(status).toBe(200);
    expect(headers['content-type']).toMatch(/^application\/yaml/);
    expect(headers['cache-control']).toBe('no-cache');
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect(spec.servers).toEqual([{ url: PUBLIC_URL, description: expect.any(String) }]);
    const { oauth2, openIdConnect } = spec.components.securitySchemes;
    expect(oauth2!.flows!.authorizationCode).toMatchObject({ authorizationUrl: `${issuer.url}authorize`, tokenUrl: `${issuer.url}oauth/token` });
    expect(openIdConnect!.openIdConnectUrl).toBe(`${issuer.url}.well-known/openid-configuration`);
    expect(oauth2!.description).toContain(`configured with: ${issuer.url} (endpoints read from its discovery document)`);
    expect(oauth2!.description).toContain('the public client `spa-client-123`');

    // Everything else is the file as written.
    const written = parse(fs.readFileSync('openapi.yaml', 'utf8')) as Spec;
    const withoutRewritten = (each: Spec) => ({ ...each, servers: [], components: { ...each.components, securitySchemes: {} } });
    expect(withoutRewritten(spec)).toEqual(withoutRewritten(written));
  });

  it('when fetched again with its ETag, then it answers 304', async () => {
    const { headers } = await servedSpec();
    const again = await api.request().get('/openapi.yaml').set('If-None-Match', headers.etag!);
    expect(again.status).toBe(304);
  });

  it('when the issuer cannot be reached, then the contract is still served at once, with Auth0\'s paths and a note saying so', async () => {
    const unreachable = await startApi({ url: 'http://127.0.0.1:9/', audience: issuer.audience }, { ISSUER_TIMEOUT_MS: '1000' });
    try {
      const started = Date.now();
      const { status, spec } = await servedSpec(unreachable);
      expect(status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(spec.components.securitySchemes.oauth2!.flows!.authorizationCode.tokenUrl).toBe('http://127.0.0.1:9/oauth/token');
      expect(spec.components.securitySchemes.oauth2!.description).toContain('could not be read');
      expect(spec.components.securitySchemes.oauth2!.description).toContain('paste it under `bearerToken`');
    } finally {
      await unreachable.close();
    }
  });

  it('when the issuer accepts the connection and never answers, then the contract is served after ISSUER_TIMEOUT_MS, not never', async () => {
    const silent = await startSilentServer();
    const hanging = await startApi({ url: silent.url, audience: issuer.audience }, { ISSUER_TIMEOUT_MS: '300' });
    try {
      const started = Date.now();
      const { status } = await servedSpec(hanging);
      expect(status).toBe(200);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await hanging.close();
      await silent.close();
    }
  });
});

describe('where the docs page signs in (sign-in endpoints)', () => {
  it('when the issuer comes back after a failure, then the endpoints are read again once the retry delay has passed', async () => {
    let clock = 0;
    let up = false;
    const source = signInEndpoints({
      issuers: ['https://tenant.example.test/'],
      timeoutMs: 100,
      retryMs: 10_000,
      now: () => clock,
      fetch: async (url) => {
        if (!up) throw new Error(`${url}: connection refused`);
        return { body: { authorization_endpoint: 'https://login.example.test/authorize', token_endpoint: 'https://login.example.test/token' }, maxAgeSeconds: undefined };
      },
    });
    expect((await source.current())[0]).toMatchObject({ tokenEndpoint: 'https://tenant.example.test/oauth/token', discovered: false });
    up = true;
    clock = 5_000;
    expect((await source.current())[0]!.discovered).toBe(false);
    clock = 10_001;
    expect((await source.current())[0]).toMatchObject({ tokenEndpoint: 'https://login.example.test/token', discovered: true });
    // Known endpoints are kept when a later read fails, and served without waiting for it.
    up = false;
    clock = 10_001 + 3_600_001;
    expect((await source.current())[0]).toMatchObject({ tokenEndpoint: 'https://login.example.test/token', discovered: true });
  });

  it('when the issuer\'s endpoints change, then the served contract names the new ones (and a new ETag); while they stay the same, it is the same copy', async () => {
    let clock = 0;
    let tokenEndpoint = 'https://login.example.test/token';
    const source = signInEndpoints({
      issuers: ['https://tenant.example.test/'],
      timeoutMs: 100,
      now: () => clock,
      fetch: async () => ({ body: { authorization_endpoint: 'https://login.example.test/authorize', token_endpoint: tokenEndpoint }, maxAgeSeconds: undefined }),
    });
    const app = express().use(docsRouter({ publicUrl: PUBLIC_URL, clientId: undefined, audience: 'https://api.example.test/', scopes: [], endpoints: source }));
    const served = async () => {
      const res = await request(app).get('/openapi.yaml').buffer(true).parse((response, done) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => done(null, body));
      });
      const spec = parse(res.body as string) as Spec;
      return { etag: res.headers.etag as string, tokenUrl: spec.components.securitySchemes.oauth2!.flows!.authorizationCode.tokenUrl, version: source.version() };
    };

    const first = await served();
    expect(first).toMatchObject({ tokenUrl: 'https://login.example.test/token', version: 1 });
    // Read again an hour later, unchanged: the same version, the same copy.
    clock = 3_600_001;
    await served();
    expect(await served()).toEqual(first);

    tokenEndpoint = 'https://login.example.test/oauth2/token';
    clock = 2 * 3_600_001;
    // Stale endpoints are answered at once and read again behind the answer: the request after sees the new ones.
    await served();
    const changed = await served();
    expect(changed).toMatchObject({ tokenUrl: 'https://login.example.test/oauth2/token', version: 2 });
    expect(changed.etag).not.toBe(first.etag);
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
    expect(page.text).not.toMatch(/<script>|<style|style=/);
  });

  it('when its Content-Security-Policy is read, then scripts come from this origin only, and it connects only to the API and the issuer', async () => {
    const page = await api.request().get('/docs');
    const policy = Object.fromEntries(
      String(page.headers['content-security-policy'])
        .split(';')
        .map((directive) => directive.trim().split(/\s+/))
        .map(([name, ...values]) => [name, values]),
    );
    expect(policy['script-src']).toEqual(["'self'"]);
    expect(policy['script-src-attr']).toEqual(["'none'"]);
    expect(policy['connect-src']).toEqual(["'self'", new URL(issuer.url).origin]);
    expect(policy['frame-ancestors']).toEqual(["'none'"]);
    // The sign-in popup reports back to the page.
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin-allow-popups');
    const redirect = await api.request().get('/docs/oauth2-redirect.html');
    expect(redirect.status).toBe(200);
    expect(redirect.headers['cross-origin-opener-policy']).toBe('unsafe-none');
  });

  it('when its start-up script is read, then the Authorize dialog comes with DOCS_CLIENT_ID, PKCE, the API\'s scopes, the audience and the redirect URI on PUBLIC_URL', async () => {
    const init = await getText(api, '/docs/init.js');
    expect(init.headers['content-type']).toMatch(/^text\/javascript/);
    const body = init.body as string;
    const json = (pattern: RegExp) => JSON.parse(pattern.exec(body)![1]!) as Record<string, unknown>;
    expect(json(/^const options = (.*);$/m)).toMatchObject({ url: '/openapi.yaml', oauth2RedirectUrl: `${PUBLIC_URL}/docs/oauth2-redirect.html` });
    expect(body).toContain('window.ui = SwaggerUIBundle({ ...options, plugins: [referenceBelowOperations] });');
    expect(json(/^window\.ui\.initOAuth\((.*)\);$/m)).toEqual({
      clientId: 'spa-client-123',
      appName: 'Notes API docs',
      scopes: ['delete:notes', 'read:notes', 'write:notes'],
      usePkceWithAuthorizationCodeGrant: true,
      additionalQueryStringParams: { audience: issuer.audience, resource: issuer.audience },
    });
  });
});
