/**
 * `npm run login` without `--user`, as a person runs it: the CLI hands the sign-in page to the browser through the
 * usual `BROWSER` variable, the person signs in and allows in that browser (Chromium, driven here), the browser
 * lands on the CLI's loopback redirect URI, and the CLI stores tokens the API accepts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readTokens } from '../../dev/native-client/token-store.js';
import { startDevStack, type DevStack } from '../e2e/dev-stack.js';
import { launchChromium, step, type TestBrowser } from '../support/browser.js';
import { allowOnConsentPage, signInOnPage } from '../support/docs-ui.js';

jest.setTimeout(60_000);

let stack: DevStack;
let chromium: TestBrowser;
let folder: string;
let cli: ChildProcess | undefined;
beforeAll(async () => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'native-login-'));
  stack = await startDevStack();
  chromium = await launchChromium();
});
afterAll(async () => {
  if (cli && cli.exitCode === null) cli.kill();
  await chromium?.close();
  await stack?.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

/** Resolves with what `file` holds once it exists; fails after `timeoutMs`. */
async function fileContents(file: string, timeoutMs: number, exited: () => string | undefined): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
    const why = exited();
    if (why !== undefined) throw new Error(`the CLI ended before handing a URL to the browser: ${why}`);
    if (Date.now() > deadline) throw new Error(`no URL was handed to the browser within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('npm run login in a browser', () => {
  it('when BROWSER hands the sign-in page to Chromium and alice signs in and allows, then the CLI saves tokens the API accepts', async () => {
    const handedUrl = path.join(folder, 'handed-url');
    const tokensFile = path.join(folder, 'tokens.json');
    let output = '';
    cli = spawn('npm', ['run', '-s', 'login', '--', '--issuer', stack.devServer.issuer, '--audience', stack.audience, '--tokens-file', tokensFile], {
      env: { ...process.env, BROWSER: `${process.execPath} ${path.resolve('test/support/browser-hand-off.mjs')} ${handedUrl}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cli.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => cli!.on('exit', resolve));

    const url = new URL(await fileContents(handedUrl, 30_000, () => (cli!.exitCode === null ? undefined : output)));
    expect(url.origin).toBe(stack.devServer.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');

    const page = await chromium.newPage();
    await page.goto(url.href);
    await step(chromium, 'sign in as alice', () => signInOnPage(page, 'alice'));
    await step(chromium, 'allow', () => allowOnConsentPage(page));
    await page.getByText('Signed in. You can close this tab.').waitFor();

    expect(await exited).toBe(0);
    expect(output).toContain('Signed in as alice');
    const tokens = readTokens(tokensFile);
    expect(tokens).toMatchObject({ subject: 'alice', client_id: 'notes-native-app' });
    const me = await stack.api.request().get('/v1/me').auth(tokens.access_token, { type: 'bearer' });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ sub: 'alice' });
  });
});
