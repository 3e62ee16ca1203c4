import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { callApi, latestDpopNonce } from '../../dev/native-client/api-call.js';
import { signInToFile, startDevStack, tokensFolder, type DevStack } from './dev-stack.js';

const NONCE_ENV = { DPOP: 'required', DPOP_NONCE: 'required', DPOP_NONCE_SECRET: 'e2e-secret-shared-by-every-replica-000000' };

let stack: DevStack;
let folder: ReturnType<typeof tokensFolder>;
beforeAll(async () => {
  stack = await startDevStack({ discoverable: true, apiEnv: NONCE_ENV });
  folder = tokensFolder();
});
afterAll(async () => {
  await stack?.close();
  folder?.remove();
});

describe('the native-app client against an API that requires DPoP nonces', () => {
  it('when it calls with no nonce yet, then it retries once with the nonce of the 401 and gets 200; later calls need no retry', async () => {
    const file = folder.file('nonce');
    await signInToFile(stack, 'alice', file, { dpop: true });
    expect(latestDpopNonce(new URL(stack.apiUrl))).toBeUndefined();

    const first = await callApi({ tokensFile: file, api: stack.apiUrl, method: 'GET', target: '/v1/me' });
    expect(first.status).toBe(200);
    expect(first.nonceRetried).toBe(true);
    expect(latestDpopNonce(new URL(stack.apiUrl))).toBe(first.headers.get('dpop-nonce'));

    const created = await callApi({ tokensFile: file, api: stack.apiUrl, method: 'POST', target: '/v1/notes', data: JSON.stringify({ title: 'nonce kept' }) });
    expect(created.status).toBe(201);
    expect(created.nonceRetried).toBeUndefined();
    const listed = await callApi({ tokensFile: file, api: stack.apiUrl, method: 'GET', target: '/v1/notes' });
    expect(listed.status).toBe(200);
    expect(listed.nonceRetried).toBeUndefined();
  });

  it('when `call --print-curl` runs, then the printed proof carries the API\'s current nonce and the command works', async () => {
    const file = folder.file('curl-cli');
    await signInToFile(stack, 'alice', file, { dpop: true });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'dev/native-client/call.ts', '--print-curl', 'GET', '/v1/me', '--api', stack.apiUrl, '--tokens-file', file],
      { timeout: 30_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
    );
    const headers = Object.fromEntries([...stdout.matchAll(/-H '([^:]+): ([^']+)'/g)].map(([, name, value]) => [name!, value!]));
    const proofClaims = JSON.parse(Buffer.from(headers.DPoP!.split('.')[1]!, 'base64url').toString('utf8')) as { nonce?: string };
    expect(proofClaims.nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await fetch(`${stack.apiUrl}/v1/me`, { headers, signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
  }, 40_000);
});
