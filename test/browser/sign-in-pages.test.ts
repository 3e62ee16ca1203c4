/// <reference lib="dom" />
/**
 * The development authorization server's pages in Chromium, as a person uses them: the sign-in form (labels,
 * autocomplete, a wrong password, keyboard only), the one-time code a step-up asks for, consent, the error page,
 * and a phone-sized screen. The authorization requests are the native app's own (its library and parameters), and
 * the browser ends at the app's loopback redirect URI (RFC 8252 §7.3), a listener here that records what arrives.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import * as client from 'openid-client';
import type { Page, Request, Response } from 'playwright-core';
import { startDevAuthorizationServer, type DevAuthorizationServer } from '../../dev/authorization-server/index.js';
import { discoverAuthorizationServer } from '../../dev/native-client/authorization-server.js';
import { authorizationParameters } from '../../dev/native-client/pkce-login.js';
import { ALL_SCOPES, AUDIENCE, CLIENT_ID } from '../e2e/dev-stack.js';
import { launchChromium, step, watchPageProblems, type TestBrowser } from '../support/browser.js';
import { allowOnConsentPage, passwordOf, signInOnPage } from '../support/docs-ui.js';

jest.setTimeout(60_000);

let devServer: DevAuthorizationServer;
let dataDir: string;
let chromium: TestBrowser;
/** Every URL the browser was sent to on the app's redirect URI (each would deliver a code or an error). */
let redirects: URL[];
/** The app's loopback listener and its redirect URI. */
let app: http.Server;
let redirectUri: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-issuer-pages-'));
  devServer = await startDevAuthorizationServer({ port: 0, audience: AUDIENCE, dataDir, log: () => undefined });
  app = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (url.pathname === '/callback') redirects.push(url);
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('The app received the answer.');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`;
  chromium = await launchChromium();
});
beforeEach(async () => {
  redirects = [];
  // A new sign-in each time: no session at the authorization server.
  await chromium.context.clearCookies();
});
afterAll(async () => {
  await chromium?.close();
  await devServer?.close();
  app?.closeAllConnections();
  app?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The native app's authorization request (PKCE S256, the API as resource), with extra parameters. */
async function authorizationUrl(extra: Record<string, string> = {}): Promise<string> {
  const config = await discoverAuthorizationServer(devServer.issuer, CLIENT_ID);
  const url = client.buildAuthorizationUrl(
    config,
    authorizationParameters({
      redirectUri,
      scope: ALL_SCOPES,
      state: client.randomState(),
      codeChallenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      audience: AUDIENCE,
    }),
  );
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
  return url.href;
}

/** Waits until the browser reached the app's redirect URI, and returns the code it carried. */
async function codeDelivered(page: Page): Promise<string> {
  await page.waitForURL((url) => url.href.startsWith(redirectUri));
  expect(redirects).toHaveLength(1);
  const code = redirects[0]!.searchParams.get('code');
  expect(code).toEqual(expect.any(String));
  return code!;
}

/** Whether the page is wider than the window (the reader would have to scroll sideways). */
const scrollsSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);

/** What the page reported that breaks it: CSP violations and script errors (a 401 page's own status is no fault). */
const breakage = (problems: string[]) => problems.filter((problem) => /Content Security Policy|^page error/.test(problem));

describe('the sign-in page', () => {
  it('when alice signs in and allows, then the console shows no error and no request fails (the browser\'s ask for /favicon.ico included)', async () => {
    const page = await chromium.newPage();
    // Chromium's request for the site's icon is not among playwright's network events; a 404 shows as a console error.
    const problems = watchPageProblems(page);
    const failed: string[] = [];
    const onResponse = (response: Response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    };
    const onFailure = (request: Request) => failed.push(`${request.failure()?.errorText} ${request.url()}`);
    chromium.context.on('response', onResponse);
    chromium.context.on('requestfailed', onFailure);
    try {
      await page.goto(await authorizationUrl());
      await step(chromium, 'sign in', () => signInOnPage(page, 'alice'));
      await step(chromium, 'consent', () => allowOnConsentPage(page));
      await codeDelivered(page);
    } finally {
      chromium.context.off('response', onResponse);
      chromium.context.off('requestfailed', onFailure);
    }
    expect(failed).toEqual([]);
    expect(problems).toEqual([]);
    const icon = await fetch(`${devServer.issuer}/favicon.ico`);
    expect(icon.status).toBe(204);
    await page.close();
  });

  it('when it opens, then each field has a label and the autocomplete a password manager needs, and the user name has the focus', async () => {
    const page = await chromium.newPage();
    const problems = watchPageProblems(page);
    await page.goto(await authorizationUrl());
    await expect(page.getByLabel('User name').getAttribute('autocomplete')).resolves.toBe('username');
    await expect(page.getByLabel('Password').getAttribute('autocomplete')).resolves.toBe('current-password');
    await expect(page.getByLabel(/One-time code/).getAttribute('autocomplete')).resolves.toBe('one-time-code');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('login');
    // The stylesheet loaded (from the server itself, as its CSP allows): the button is styled, not the browser's.
    await expect(page.getByRole('button', { name: 'Sign in' }).evaluate((button) => getComputedStyle(button).backgroundColor)).resolves.toBe('rgb(26, 86, 219)');
    expect(breakage(problems)).toEqual([]);
    await page.close();
  });

  it('when the password is wrong, then the page says so, marks the fields and issues no code; the right one then signs in', async () => {
    const page = await chromium.newPage();
    const problems = watchPageProblems(page);
    await page.goto(await authorizationUrl());
    await step(chromium, 'wrong password', () => signInOnPage(page, 'alice', { password: 'not-her-password' }));

    await expect(page.getByRole('alert').innerText()).resolves.toBe('Wrong user name or password.');
    await expect(page.getByLabel('Password').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.getByLabel('User name').inputValue()).resolves.toBe('alice');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('password');
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
    expect(redirects).toEqual([]);

    await step(chromium, 'right password', () => signInOnPage(page, 'alice'));
    await step(chromium, 'consent', () => allowOnConsentPage(page));
    await codeDelivered(page);
    expect(breakage(problems)).toEqual([]);
    await page.close();
  });

  it('when only the keyboard is used, then typing, Tab and Enter sign in and allow', async () => {
    const page = await chromium.newPage();
    await page.goto(await authorizationUrl());
    const focused = (id: string) => page.waitForFunction((expected) => document.activeElement?.id === expected, id);
    await focused('login');
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await focused('password');
    await page.keyboard.type(passwordOf('alice'));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    // Tab from the top of the page to the Allow button, within a few presses.
    for (let presses = 0; presses < 5 && !(await page.evaluate(() => document.activeElement?.textContent === 'Allow')); presses++) {
      await page.keyboard.press('Tab');
    }
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Allow');
    await page.keyboard.press('Enter');
    await codeDelivered(page);
    await page.close();
  });
});

describe('the one-time code page (step-up)', () => {
  it('when the app asks for a second factor (acr_values=urn:notes:mfa), then the page asks for the one-time code, and the code signs in', async () => {
    const page = await chromium.newPage();
    await page.goto(await authorizationUrl({ acr_values: 'urn:notes:mfa' }));
    await page.getByRole('heading', { name: 'Sign in with your one-time code' }).waitFor();
    const otp = page.getByLabel(/One-time code/);
    await expect(otp.getAttribute('required')).resolves.not.toBeNull();
    await expect(otp.getAttribute('autocomplete')).resolves.toBe('one-time-code');

    await step(chromium, 'sign in with the code', () => signInOnPage(page, 'alice', { otp: '000000' }));
    await step(chromium, 'consent', () => allowOnConsentPage(page));
    await codeDelivered(page);
    await page.close();
  });

  it('when the app does not ask for it, then the same page has no such heading and the code is optional', async () => {
    const page = await chromium.newPage();
    await page.goto(await authorizationUrl());
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    await expect(page.getByLabel(/One-time code/).getAttribute('required')).resolves.toBeNull();
    await page.close();
  });
});

describe('on a phone-sized screen (390 px wide)', () => {
  it('when the sign-in, wrong-password, consent and error pages are shown, then none scrolls sideways', async () => {
    const page = await chromium.newPage({ width: 390, height: 844 });
    const problems = watchPageProblems(page);
    await page.goto(await authorizationUrl());
    expect(await scrollsSideways(page)).toBe(false);
    await signInOnPage(page, 'alice', { password: 'wrong' });
    await page.getByRole('alert').waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await signInOnPage(page, 'alice');
    await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    await page.goto(`${devServer.issuer}/interaction/no-such-sign-in`);
    await page.getByRole('heading', { name: 'Something went wrong' }).waitFor();
    expect(await scrollsSideways(page)).toBe(false);
    expect(breakage(problems)).toEqual([]);
    await page.close();
  });
});
