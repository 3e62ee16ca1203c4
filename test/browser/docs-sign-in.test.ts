/**
 * The docs page in a real browser: Swagger UI at `/docs` of the real API, signing in at the real development
 * authorization server in its popup (Authorization Code + PKCE as the public client `notes-api-docs`), then calling
 * the API from "Try it out".
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { startDevStack, type DevStack } from '../e2e/dev-stack.js';
import { launchChromium, step, watchPageProblems, type TestBrowser } from '../support/browser.js';
import { authorizeInDocs, openDocs, tryItOut } from '../support/docs-ui.js';

jest.setTimeout(120_000);

let stack: DevStack;
/** Each user signs in from a browser of their own (a fresh profile); launched once per file, they are the slow part. */
const browsers: TestBrowser[] = [];
beforeAll(async () => {
  stack = await startDevStack({ docsPage: true });
});
afterAll(async () => {
  for (const browser of browsers) await browser.close();
  await stack?.close();
});

async function browser(): Promise<TestBrowser> {
  const launched = await launchChromium();
  browsers.push(launched);
  return launched;
}

describe('GET /docs in Chromium', () => {
  it('when the page is opened, then Swagger UI renders the contract with no console error and no CSP violation', async () => {
    const chromium = await browser();
    const page = await chromium.newPage();
    const problems = watchPageProblems(page);
    await step(chromium, 'open /docs', () => openDocs(page, stack.apiUrl));
    // The dialog reads the issuer's discovery document (the openIdConnect scheme) from the page: the CSP allows it.
    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('.auth-container h4', { hasText: /^openIdConnect/ }).first().waitFor();
    await page.locator('.auth-container', { hasText: 'offline_access' }).first().waitFor();
    expect(await page.locator('.servers select').inputValue()).toBe(stack.apiUrl);
    expect(problems).toEqual([]);
  });
});

describe('Authorize and "Try it out" in /docs', () => {
  it('when alice authorizes in the popup and allows, then the page is authorized, POST /v1/notes answers 201 and GET /v1/notes 200 with the note; bob, signed in the same way, does not see it', async () => {
    // The first story's browser (its Swagger UI page was not signed in: authorizations live in the page).
    const alice = browsers[0] ?? (await browser());
    const page = await alice.newPage();
    const problems = watchPageProblems(page);
    const title = `From the docs page ${Date.now()}`;
    await step(alice, 'open /docs', () => openDocs(page, stack.apiUrl));
    await step(alice, 'authorize as alice', () => authorizeInDocs(page, 'alice'));
    expect(await page.locator('.auth-wrapper button.authorize').getAttribute('class')).toMatch(/\blocked\b/);

    const created = await step(alice, 'POST /v1/notes', () => tryItOut(page, 'createNote', { body: { title, body: 'Written with Try it out.' } }));
    expect(created.status).toBe(201);
    expect(JSON.parse(created.body)).toMatchObject({ title });
    const listed = await step(alice, 'GET /v1/notes', () => tryItOut(page, 'listNotes'));
    expect(listed.status).toBe(200);
    expect(listed.body).toContain(title);
    expect(problems).toEqual([]);

    const bob = await browser();
    const bobsPage = await bob.newPage();
    await step(bob, 'open /docs as bob', () => openDocs(bobsPage, stack.apiUrl));
    await step(bob, 'authorize as bob', () => authorizeInDocs(bobsPage, 'bob'));
    const bobsList = await step(bob, 'GET /v1/notes as bob', () => tryItOut(bobsPage, 'listNotes'));
    expect(bobsList.status).toBe(200);
    expect(JSON.parse(bobsList.body)).toMatchObject({ items: [] });
    expect(bobsList.body).not.toContain(title);
  });
});
