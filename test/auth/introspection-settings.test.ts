import { describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { introspectedTokens } from '../../src/auth/introspection/introspection.js';
import { loadConfig } from '../../src/config.js';

const ISSUER = 'https://issuer.example.test/';
const OTHER = 'https://other.example.test/';
const secretKey = new TextEncoder().encode('a key for shaping test JWTs only, never verified');
const jwtFrom = (iss: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(iss).sign(secretKey);

describe('ACCESS_TOKEN_FORMAT and the INTROSPECTION_* settings', () => {
  const base = { ISSUER_BASE_URL: ISSUER, INTROSPECTION_CLIENT_ID: 'notes-api', INTROSPECTION_CLIENT_SECRET: 's3cret' };

  it('when unset, then every issuer is taken as issuing JWTs and nothing more is needed', () => {
    expect(loadConfig({ ISSUER_BASE_URL: ISSUER }).ACCESS_TOKEN_FORMAT).toBeUndefined();
  });

  it.each([
    [{ ACCESS_TOKEN_FORMAT: 'opaque', ISSUER_BASE_URL: ISSUER }, /INTROSPECTION_CLIENT_ID is needed/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'opaque', INTROSPECTION_CLIENT_SECRET: undefined }, /client_secret_basic needs INTROSPECTION_CLIENT_SECRET/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'both', INTROSPECTION_CLIENT_AUTH: 'private_key_jwt' }, /private_key_jwt needs INTROSPECTION_PRIVATE_KEY_FILE/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'opaque', ISSUER_BASE_URL: `${ISSUER},${OTHER}` }, /one issuer for opaque tokens only/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'both,opaque', ISSUER_BASE_URL: `${ISSUER},${OTHER}` }, /one issuer for opaque tokens only/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'jwt,jwt,opaque', ISSUER_BASE_URL: `${ISSUER},${OTHER}` }, /one value, or one per issuer \(2\)/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'paseto' }, /ACCESS_TOKEN_FORMAT each must be jwt, opaque or both/],
    [{ ...base, ACCESS_TOKEN_FORMAT: 'opaque', INTROSPECTION_CACHE_SECONDS: '7200' }, /INTROSPECTION_CACHE_SECONDS/],
  ])('when %o, then the start-up stops naming what is wrong', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('when one issuer of two takes opaque tokens, with its client, then the configuration is accepted', () => {
    const config = loadConfig({ ...base, ACCESS_TOKEN_FORMAT: 'jwt,both', ISSUER_BASE_URL: `${ISSUER},${OTHER}` });
    expect(config.ACCESS_TOKEN_FORMAT).toEqual(['jwt', 'both']);
    expect(config.INTROSPECTION_CACHE_SECONDS).toBe(60);
  });
});

describe('which tokens are introspected', () => {
  it('when every issuer issues JWTs, then none', () => {
    expect(introspectedTokens(new Map([[ISSUER, 'jwt']]))).toBeUndefined();
  });

  it('when the issuer issues both, then only tokens not shaped as a JWT', async () => {
    const takes = introspectedTokens(new Map([[ISSUER, 'both']]))!;
    expect(takes('an-opaque-token')).toBe(true);
    expect(takes('one.two')).toBe(true);
    expect(takes(await jwtFrom(ISSUER))).toBe(false);
  });

  it('when one issuer issues only opaque tokens beside a JWT issuer, then JWTs of the JWT issuer are verified and all else introspected', async () => {
    const takes = introspectedTokens(new Map([[OTHER, 'jwt'], [ISSUER, 'opaque']]))!;
    expect(takes(await jwtFrom(OTHER))).toBe(false);
    expect(takes(await jwtFrom(ISSUER))).toBe(true);
    expect(takes('not.a.jwt')).toBe(true);
    expect(takes('an-opaque-token')).toBe(true);
  });
});
