import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApi, type TestApi } from '../support/api.js';
import { challengeOf } from '../support/challenge.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer.close();
});

const HOSTILE = {
  Host: 'evil.example',
  'X-Forwarded-Host': 'attacker.example',
  'X-Forwarded-Proto': 'gopher',
} as const;

/** Every absolute URL a response can carry: the resource metadata's links and the 401 challenge's metadata URL. */
async function absoluteUrls(api: TestApi, headers: Record<string, string>): Promise<{ documentation: string; metadata: string[]; raw: string }> {
  const metadata = await api.request().get('/.well-known/oauth-protected-resource').set(headers);
  expect(metadata.status).toBe(200);
  const refused = await api.request().get('/v1/me').set(headers);
  expect(refused.status).toBe(401);
  const challenge = refused.headers['www-authenticate'] as string;
  return {
    documentation: metadata.body.resource_documentation as string,
    metadata: ['Bearer', 'DPoP'].map((scheme) => challengeOf(challenge, scheme)!.params.resource_metadata!),
    raw: `${metadata.text}\n${challenge}\n${JSON.stringify(refused.body)}`,
  };
}

describe('PUBLIC_URL: absolute URLs come from the configuration, never from a request header', () => {
  describe.each([
    ['TRUST_PROXY unset', {}],
    ['TRUST_PROXY=true', { TRUST_PROXY: 'true' }],
  ])('with %s', (_name, env: Record<string, string>) => {
    let api: TestApi;
    beforeAll(async () => {
      api = await startApi(issuer, env);
    });
    afterAll(async () => {
      await api.close();
    });

    it('when Host, X-Forwarded-Host and X-Forwarded-Proto are hostile, then no response echoes them', async () => {
      const urls = await absoluteUrls(api, HOSTILE);
      expect(urls.documentation).toBe('https://notes.example.test/docs');
      expect(urls.metadata).toEqual([
        'https://notes.example.test/.well-known/oauth-protected-resource/api',
        'https://notes.example.test/.well-known/oauth-protected-resource/api',
      ]);
      expect(urls.raw).not.toMatch(/evil|attacker|gopher/);
    });
  });

  it('when the identifier is not a URL, then the URLs are PUBLIC_URL\'s, whatever Host says (was the Host header)', async () => {
    const api = await startApi({ url: issuer.url, audience: 'urn:example:notes-api' }, { PUBLIC_URL: 'https://api.example.com/ignored/path' });
    try {
      const urls = await absoluteUrls(api, HOSTILE);
      expect(urls.documentation).toBe('https://api.example.com/docs');
      expect(urls.metadata[0]).toBe('https://api.example.com/.well-known/oauth-protected-resource');
      expect(urls.raw).not.toMatch(/evil|attacker|gopher/);
    } finally {
      await api.close();
    }
  });

  it('when the identifier is not a URL and PUBLIC_URL is unset, then the URLs are http://HOST:PORT from the configuration', async () => {
    const api = await startApi({ url: issuer.url, audience: 'urn:example:notes-api' }, { HOST: '127.0.0.1', PORT: '3999' });
    try {
      const urls = await absoluteUrls(api, HOSTILE);
      expect(urls.documentation).toBe('http://127.0.0.1:3999/docs');
      expect(urls.metadata[0]).toBe('http://127.0.0.1:3999/.well-known/oauth-protected-resource');
    } finally {
      await api.close();
    }
  });

  it('when PUBLIC_URL differs from the identifier\'s origin, then both links point at PUBLIC_URL, with the identifier\'s path', async () => {
    const api = await startApi(issuer, { PUBLIC_URL: 'https://notes.example.com' });
    try {
      const urls = await absoluteUrls(api, {});
      expect(urls.documentation).toBe('https://notes.example.com/docs');
      expect(urls.metadata[0]).toBe('https://notes.example.com/.well-known/oauth-protected-resource/api');
    } finally {
      await api.close();
    }
  });

  it('when a note is created behind a hostile Host, then Location is a path, not an absolute URL built from it', async () => {
    const api = await startApi(issuer, { TRUST_PROXY: 'true' });
    try {
      const res = await api.request().post('/v1/notes').set(HOSTILE).auth(await issuer.mint(), { type: 'bearer' }).send({ title: 'Hello' });
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/v1/notes/${res.body.id}`);
    } finally {
      await api.close();
    }
  });
});
