import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { refreshTokens } from '../../dev/native-client/access-token.js';
import { decodeJwt, signIn, startDevStack, type DevStack } from './dev-stack.js';

const run = promisify(execFile);

let stack: DevStack;
beforeEach(async () => {
  stack = await startDevStack();
});
afterEach(async () => {
  await stack?.close();
});

const jwksFile = () => path.join(stack.dataDir, 'jwks.json');
const kidOf = (token: string) => decodeJwt(token).header.kid as string;

async function publishedKids(): Promise<string[]> {
  const res = await fetch(`${stack.devServer.issuer}/jwks`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  const { keys } = (await res.json()) as { keys: { kid: string; kty: string; alg: string; d?: string }[] };
  for (const key of keys) expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
  expect(keys.some((key) => 'd' in key)).toBe(false);
  return keys.map((key) => key.kid);
}

/** The rotation command, as a developer runs it. */
async function rotateKeysCommand(): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'dev/authorization-server/rotate-keys.ts', stack.dataDir], { timeout: 30_000 });
  return stdout;
}

/** What a freshly started API (no cached keys: it fetches the JWKS) answers to the token on GET /v1/me. */
async function statusOnAFreshApi(token: string): Promise<number> {
  const api = await stack.startAnotherApi();
  return (await api.request().get('/v1/me').auth(token, { type: 'bearer' })).status;
}

describe('signing keys of the development authorization server', () => {
  it('when it starts the first time, then it makes one RS256 key, keeps it 0600 in the data folder and publishes only its public half', async () => {
    const saved = JSON.parse(fs.readFileSync(jwksFile(), 'utf8')) as { keys: { kid: string; d?: string }[] };
    expect(saved.keys).toHaveLength(1);
    expect(saved.keys[0]!.d).toEqual(expect.any(String));
    expect(fs.statSync(jwksFile()).mode & 0o777).toBe(0o600);
    expect(await publishedKids()).toEqual([saved.keys[0]!.kid]);

    const tokens = await signIn(stack, 'alice');
    expect(kidOf(tokens.access_token)).toBe(saved.keys[0]!.kid);
  });

  it('when it restarts, then a token from before still verifies, new tokens use the same key, and the refresh token still works', async () => {
    const before = await signIn(stack, 'alice');

    await stack.restartDevServer();

    expect(await statusOnAFreshApi(before.access_token)).toBe(200);
    const after = await signIn(stack, 'bob');
    expect(kidOf(after.access_token)).toBe(kidOf(before.access_token));
    const refreshed = await refreshTokens(before);
    expect(decodeJwt(refreshed.access_token).payload.sub).toBe('alice');
    expect(await statusOnAFreshApi(refreshed.access_token)).toBe(200);
  });

  it('when the keys are rotated, then new tokens are signed with the new key and tokens of the previous key still verify', async () => {
    const old = await signIn(stack, 'alice');

    const output = await rotateKeysCommand();
    await stack.restartDevServer();

    const fresh = await signIn(stack, 'alice');
    expect(kidOf(fresh.access_token)).not.toBe(kidOf(old.access_token));
    expect(output).toContain(`New signing key ${kidOf(fresh.access_token)}`);
    expect(output).toContain(`The previous key ${kidOf(old.access_token)} stays published`);
    expect(await publishedKids()).toEqual([kidOf(fresh.access_token), kidOf(old.access_token)]);
    expect(fs.statSync(jwksFile()).mode & 0o777).toBe(0o600);
    expect(await statusOnAFreshApi(old.access_token)).toBe(200);
    expect(await statusOnAFreshApi(fresh.access_token)).toBe(200);
  }, 60_000);

  it('when the keys are rotated twice, then only the previous key is kept and tokens of the oldest one are refused (401)', async () => {
    const oldest = await signIn(stack, 'alice');

    await rotateKeysCommand();
    await rotateKeysCommand();
    await stack.restartDevServer();

    const kids = await publishedKids();
    expect(kids).toHaveLength(2);
    expect(kids).not.toContain(kidOf(oldest.access_token));
    expect(await statusOnAFreshApi(oldest.access_token)).toBe(401);
  }, 60_000);
});
