import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { InvalidTokenError } from '../../src/auth/auth-errors.js';
import { KeyIdGate } from '../../src/auth/key-id-gate.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import { startApi, type TestApi } from '../support/api.js';
import { startTestIssuer, type TestIssuer } from '../support/issuer.js';

/**
 * JWKS economy: a new signing key is accepted within about a second of its first use, while tokens naming keys
 * the issuer never published cost only a few, bounded fetches of its key set. Every issuer here is real (HTTP on
 * 127.0.0.1) and counts the fetches it serves.
 */

describe('the API against an issuer that rotates its keys', () => {
  let issuer: TestIssuer;
  let api: TestApi;
  beforeEach(async () => {
    issuer = await startTestIssuer();
  });
  afterEach(async () => {
    await api?.close();
    await issuer.close();
  });

  const me = (token: string) => api.request().get('/v1/me').set('Authorization', `Bearer ${token}`);

  it('when the issuer publishes a new key just after the API fetched its keys, then a token signed with it is accepted within about a second (default JWKS_COOLDOWN_MS)', async () => {
    api = await startApi(issuer);
    expect((await me(await issuer.mint())).status).toBe(200);

    await issuer.rotate('RS256');
    const fresh = await issuer.mint();
    const published = performance.now();
    let status = 0;
    while (performance.now() - published < 5_000) {
      status = (await me(fresh)).status;
      if (status === 200) break;
      await sleep(50);
    }

    expect(status).toBe(200);
    // The library's own default waits 30 s here; the bound of 1.5 s allows for a slow machine.
    expect(performance.now() - published).toBeLessThan(1_500);
  });

  it('when tokens naming random unknown keys flood in for 3 s, then the key set is fetched only a few times, and valid tokens keep working', async () => {
    // A short first step makes the bound visible in a short test: without the back-off, this cool-down alone
    // would allow 15 fetches in 3 s; with it, fetches come at about 0, 0.2, 0.6, 1.4 and 3.0 s.
    api = await startApi(issuer, { JWKS_COOLDOWN_MS: '200', RATE_LIMIT_ENABLED: 'false' });
    const valid = await issuer.mint();
    expect((await me(valid)).status).toBe(200);
    const stranger = await issuer.unpublishedKey();
    const before = issuer.fetches.jwks;

    const statuses = new Map<number, number>();
    const details = new Set<string>();
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < 3_000) {
      const batch = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const forged = await issuer.mint({}, { ...stranger, header: { kid: randomUUID() } });
          return me(forged);
        }),
      );
      for (const res of batch) {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        details.add((res.body as { detail: string }).detail);
      }
      sent += batch.length;
      expect((await me(valid)).status).toBe(200);
    }

    expect(sent).toBeGreaterThan(100);
    expect([...statuses]).toEqual([[401, sent]]);
    expect([...details]).toEqual(['The access token is signed with a key this API does not know.']);
    expect(issuer.fetches.jwks - before).toBeGreaterThanOrEqual(2);
    expect(issuer.fetches.jwks - before).toBeLessThanOrEqual(6);
  });

  it('when a fresh API serves valid tokens, then it fetches the key set once: the gate learns the key from the library\'s fetch', async () => {
    api = await startApi(issuer);
    const first = await Promise.all(Array.from({ length: 20 }, async (_, n) => me(await issuer.mint({ sub: `auth0|burst-${n}` }))));
    expect(first.map((res) => res.status)).toEqual(Array(20).fill(200));
    for (let i = 0; i < 10; i++) expect((await me(await issuer.mint({ sub: `auth0|later-${i}` }))).status).toBe(200);
    expect(issuer.fetches).toEqual({ jwks: 1, discovery: 1 });
  });

  it('when a fresh API first gets tokens naming unknown keys, then they are refused, the gate takes over, and valid tokens work', async () => {
    api = await startApi(issuer, { JWKS_COOLDOWN_MS: '200', RATE_LIMIT_ENABLED: 'false' });
    const stranger = await issuer.unpublishedKey();
    for (let i = 0; i < 20; i++) {
      const res = await me(await issuer.mint({}, { ...stranger, header: { kid: randomUUID() } }));
      expect(res.status).toBe(401);
      expect(res.body.detail).toBe('The access token is signed with a key this API does not know.');
    }
    expect((await me(await issuer.mint())).status).toBe(200);
    // The library's first fetch, then the gate's own first fetch (at once, the key set being unknown to it), then at
    // most one more within its back-off; the valid token's key was in the gate's fetch.
    expect(issuer.fetches.jwks).toBeGreaterThanOrEqual(2);
    expect(issuer.fetches.jwks).toBeLessThanOrEqual(3);
  });
});

describe('the key-id gate, on a controlled clock', () => {
  let issuer: TestIssuer;
  let now = 0;
  const fetchTimes: number[] = [];
  beforeAll(async () => {
    issuer = await startTestIssuer();
  });
  afterAll(async () => {
    await issuer.close();
  });
  beforeEach(() => {
    now = 1_000_000;
    fetchTimes.length = 0;
    issuer.setDown(false);
    issuer.setJwksCacheControl(undefined);
  });

  const gate = (settings: { maxBackoffMs?: number; deferFirstFetch?: boolean } = {}) =>
    new KeyIdGate({
      issuers: [issuer.url],
      jwksUri: undefined,
      timeoutMs: 2_000,
      minIntervalMs: 1_000,
      maxBackoffMs: settings.maxBackoffMs ?? 30_000,
      deferFirstFetch: settings.deferFirstFetch ?? false,
      onFetch: (kind) => {
        if (kind === 'jwks') fetchTimes.push(now - 1_000_000);
      },
      now: () => now,
    });
  const unknownKid = (g: KeyIdGate) => g.admit(issuer.url, randomUUID(), 'RS256');
  /** One unknown kid every 100 ms of the controlled clock for `seconds`. */
  const flood = async (g: KeyIdGate, seconds: number) => {
    for (let step = 0; step < seconds * 10; step++, now += 100) {
      await expect(unknownKid(g)).rejects.toBeInstanceOf(InvalidTokenError);
    }
  };

  it('when unknown kids keep coming, then fetches back off exponentially from JWKS_COOLDOWN_MS up to JWKS_MAX_BACKOFF_MS', async () => {
    await flood(gate(), 120);
    expect(fetchTimes).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000, 61_000, 91_000]);
  });

  it("when the issuer's key set says Cache-Control: max-age=5, then the back-off never exceeds 5 s", async () => {
    issuer.setJwksCacheControl('public, max-age=5');
    await flood(gate(), 30);
    expect(fetchTimes).toEqual([0, 1_000, 3_000, 7_000, 12_000, 17_000, 22_000, 27_000]);
  });

  it('when a fetch finds the kid a token names, then the back-off starts again from JWKS_COOLDOWN_MS', async () => {
    const g = gate();
    await flood(g, 8); // fetches at 0, 1, 3 and 7 s: the next may not come before 15 s
    now += 8_000;
    const kid = await issuer.rotate('RS256');
    await expect(g.admit(issuer.url, kid, 'RS256')).resolves.toBeUndefined();
    const rotatedAt = now - 1_000_000;
    await flood(g, 4);
    expect(fetchTimes.slice(4)).toEqual([rotatedAt, rotatedAt + 1_000, rotatedAt + 2_000]);
  });

  it('when many tokens name the same new kid at once, then the key set is fetched once for all of them', async () => {
    const kid = await issuer.rotate('ES256');
    const g = gate();
    await Promise.all(Array.from({ length: 50 }, () => g.admit(issuer.url, kid, 'ES256')));
    expect(fetchTimes).toEqual([0]);
  });

  it('when a known kid keeps coming, then nothing is fetched after the first time', async () => {
    const g = gate();
    const { kid } = decodeProtectedHeader(await issuer.mint());
    for (let i = 0; i < 20; i++, now += 10_000) await g.admit(issuer.url, kid, 'RS256');
    expect(fetchTimes).toEqual([0]);
  });

  it('when the issuer is down, then an unknown kid is answered 503 (not 401), and the issuer is not hammered', async () => {
    issuer.setDown(true);
    const discoveriesBefore = issuer.fetches.discovery;
    const g = gate();
    for (let i = 0; i < 30; i++, now += 100) {
      await expect(unknownKid(g)).rejects.toBeInstanceOf(ServiceUnavailableError);
    }
    expect(fetchTimes).toEqual([]); // discovery itself failed: no key-set fetch was attempted
    expect(issuer.fetches.discovery - discoveriesBefore).toBeLessThanOrEqual(3);
  });

  describe('with the first fetch deferred to the token library (as the API runs it)', () => {
    it('when the first tokens come, then they all pass unfetched until one is verified; its key then passes, and another key is fetched for', async () => {
      const g = gate({ deferFirstFetch: true });
      const { kid } = decodeProtectedHeader(await issuer.mint());
      await Promise.all(Array.from({ length: 10 }, () => g.admit(issuer.url, kid, 'RS256')));
      await expect(unknownKid(g)).resolves.toBeUndefined(); // still deferred: the library answers for it
      g.settled(issuer.url, kid, 'RS256', 'refused'); // e.g. an expired token: says nothing about the key set
      await expect(unknownKid(g)).resolves.toBeUndefined();
      g.settled(issuer.url, kid, 'RS256', 'verified');
      for (let i = 0; i < 5; i++, now += 10_000) await g.admit(issuer.url, kid, 'RS256');
      expect(fetchTimes).toEqual([]);
      await expect(unknownKid(g)).rejects.toBeInstanceOf(InvalidTokenError);
      expect(fetchTimes).toEqual([50_000]);
      await g.admit(issuer.url, kid, 'RS256'); // in the fetched set as well
      expect(fetchTimes).toEqual([50_000]);
    });

    it('when the library finds no key for the first token, then the gate fetches for the next unknown key at once and backs off from there', async () => {
      const g = gate({ deferFirstFetch: true });
      await expect(unknownKid(g)).resolves.toBeUndefined();
      g.settled(issuer.url, 'whatever', 'RS256', 'unknown-key');
      await flood(g, 8);
      expect(fetchTimes).toEqual([0, 1_000, 3_000, 7_000]);
    });

    it('when the library could not reach the issuer for the first token, then the next tokens get 503 and the gate tries again after its cool-down', async () => {
      const g = gate({ deferFirstFetch: true });
      await expect(unknownKid(g)).resolves.toBeUndefined();
      g.settled(issuer.url, 'whatever', 'RS256', 'unreachable');
      const discoveriesBefore = issuer.fetches.discovery;
      for (let i = 0; i < 9; i++, now += 100) await expect(unknownKid(g)).rejects.toBeInstanceOf(ServiceUnavailableError);
      expect(issuer.fetches.discovery - discoveriesBefore).toBe(0); // not hammered within the cool-down
      now += 200;
      await expect(unknownKid(g)).rejects.toBeInstanceOf(InvalidTokenError); // reachable again: fetched, not there
      expect(fetchTimes).toEqual([1_100]);
    });
  });
});
