import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEV_ONE_TIME_CODE } from '../../dev/authorization-server/authentication-context.js';
import { callApi, callApiWithStepUp, stepUpLoginCommand } from '../../dev/native-client/api-call.js';
import { readTokens, type StoredTokens } from '../../dev/native-client/token-store.js';
import type { TestApi } from '../support/api.js';
import { AUDIENCE, decodeJwt, passwordOf, signInToFile, sleep, startDevStack, tokensFolder, type DevStack } from './dev-stack.js';

const run = promisify(execFile);

let stack: DevStack;
let folder: ReturnType<typeof tokensFolder>;
beforeAll(async () => {
  stack = await startDevStack();
  folder = tokensFolder();
});
afterAll(async () => {
  await stack?.close();
  folder?.remove();
});

const authTimeOf = (tokens: StoredTokens) => decodeJwt(tokens.access_token).payload.auth_time as number;

/** Waits until a login at `authTime` (epoch seconds) is more than `maxAge` seconds old, as the API counts. */
async function waitUntilOlderThan(authTime: number, maxAge: number): Promise<void> {
  const wait = (authTime + maxAge) * 1000 + 250 - Date.now();
  expect(wait).toBeLessThanOrEqual(4000);
  if (wait > 0) await sleep(wait);
}

/** The real client's calls to `api` with the tokens in `tokensFile`. */
const clientOf = (api: TestApi, tokensFile: string) => ({
  call: (method: string, target: string, data?: object) =>
    callApi({ tokensFile, api: api.url, method, target, ...(data ? { data: JSON.stringify(data) } : {}) }),
  async createNote(): Promise<string> {
    const created = await this.call('POST', '/v1/notes', { title: 'delete me, carefully' });
    expect(created.status).toBe(201);
    return JSON.parse(created.body).id as string;
  },
});

describe('STEP_UP_MAX_AGE=2: deleting a note needs a login at most 2 s old (RFC 9470)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await stack.startAnotherApi({ env: { STEP_UP_MAX_AGE: '2' } });
  });

  it('when alice signed in too long ago, then DELETE is refused with max_age and deletes nothing; after a fresh login with that max_age it is 204', async () => {
    const file = folder.file('max-age');
    const { tokens } = await signInToFile(stack, 'alice', file, { dpop: true });
    const alice = clientOf(api, file);
    const id = await alice.createNote();
    await waitUntilOlderThan(authTimeOf(tokens), 2);

    const refused = await alice.call('DELETE', `/v1/notes/${id}`);

    expect(refused.status).toBe(401);
    expect(refused.stepUp).toMatchObject({ maxAge: 2 });
    // In the challenge of the scheme used: the token is DPoP-bound.
    expect(refused.challenges.find((challenge) => challenge.scheme === 'DPoP')?.params).toMatchObject({
      error: 'insufficient_user_authentication',
      max_age: '2',
    });
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'insufficient_user_authentication', max_age: '2', action: 'reauthenticate' });
    expect((await alice.call('GET', `/v1/notes/${id}`)).status).toBe(200);
    expect(stepUpLoginCommand(readTokens(file), refused.stepUp!, file)).toBe(
      `npm run login -- --issuer ${stack.devServer.issuer} --audience ${AUDIENCE} --dpop --max-age 2 --tokens-file ${file}`,
    );

    // What `npm run call -- DELETE … --step-up --user alice --password …` does: sign in again as asked, retry once.
    const { first, retried } = await callApiWithStepUp({
      tokensFile: file,
      api: api.url,
      method: 'DELETE',
      target: `/v1/notes/${id}`,
      how: { headless: { user: 'alice', password: passwordOf('alice') } },
    });

    expect(first.status).toBe(401);
    expect(retried?.status).toBe(204);
    const fresh = readTokens(file);
    expect(authTimeOf(fresh)).toBeGreaterThan(authTimeOf(tokens));
    expect(fresh).toMatchObject({ token_type: 'dpop', dpop_jkt: tokens.dpop_jkt, subject: 'alice' });
    expect((await alice.call('GET', `/v1/notes/${id}`)).status).toBe(404);
  });

  it('when the login is recent enough, then DELETE is accepted at once', async () => {
    const file = folder.file('recent');
    await signInToFile(stack, 'bob', file);
    const bob = clientOf(api, file);
    const id = await bob.createNote();
    expect((await bob.call('DELETE', `/v1/notes/${id}`)).status).toBe(204);
  });
});

describe('STEP_UP_ACR_VALUES=urn:notes:mfa: deleting a note needs a login with the second factor', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await stack.startAnotherApi({ env: { STEP_UP_ACR_VALUES: 'urn:notes:mfa' } });
  });

  it('when bob signed in with his password only, then DELETE is refused with acr_values; a sign-in without the code is refused; with it, 204', async () => {
    const file = folder.file('acr');
    const { tokens } = await signInToFile(stack, 'bob', file);
    expect(decodeJwt(tokens.access_token).payload.acr).toBe('urn:notes:pwd');
    const bob = clientOf(api, file);
    const id = await bob.createNote();

    const refused = await bob.call('DELETE', `/v1/notes/${id}`);
    expect(refused.status).toBe(401);
    expect(refused.stepUp).toEqual({ acrValues: 'urn:notes:mfa', description: expect.stringMatching(/stronger login/) });
    expect(refused.challenges.find((challenge) => challenge.scheme === 'Bearer')?.params).toMatchObject({
      error: 'insufficient_user_authentication',
      acr_values: 'urn:notes:mfa',
    });

    const how = (otp?: string) => ({ headless: { user: 'bob', password: passwordOf('bob'), ...(otp ? { otp } : {}) } });
    const request = { tokensFile: file, api: api.url, method: 'DELETE', target: `/v1/notes/${id}` };
    await expect(callApiWithStepUp({ ...request, how: how() })).rejects.toThrow(/refused the sign-in of bob: This app asks for a second factor/);
    await expect(callApiWithStepUp({ ...request, how: how('123456') })).rejects.toThrow(/Wrong one-time code/);
    expect((await bob.call('GET', `/v1/notes/${id}`)).status).toBe(200);

    const { retried } = await callApiWithStepUp({ ...request, how: how(DEV_ONE_TIME_CODE) });

    expect(retried?.status).toBe(204);
    expect(decodeJwt(readTokens(file).access_token).payload.acr).toBe('urn:notes:mfa');
  });

  it('when `call` is refused for step-up, then it says what the API asked for and the login to run; with --step-up it signs in and retries', async () => {
    const file = folder.file('acr-cli');
    await signInToFile(stack, 'alice', file);
    const id = await clientOf(api, file).createNote();
    const call = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'dev/native-client/call.ts', 'DELETE', `/v1/notes/${id}`, '--api', api.url, '--tokens-file', file, ...args], {
        timeout: 30_000,
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      });

    const refused = await call().then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );

    expect(refused?.code).toBe(1);
    expect(refused?.stdout).toMatch(/^HTTP\/1\.1 401 Unauthorized\n/);
    expect(refused?.stdout).toContain('The API asks for a sign-in of class urn:notes:mfa (acr_values) (RFC 9470). Sign in again with:');
    expect(refused?.stdout).toContain(
      `npm run login -- --issuer ${stack.devServer.issuer} --audience ${AUDIENCE} --acr-values urn:notes:mfa --tokens-file ${file}`,
    );

    const { stdout } = await call('--step-up', '--user', 'alice', '--password', passwordOf('alice'), '--otp', DEV_ONE_TIME_CODE);

    expect(stdout).toContain('signing in again as alice, then retrying once.');
    expect(stdout).toMatch(/HTTP\/1\.1 204 No Content\n$/);
  }, 60_000);
});
