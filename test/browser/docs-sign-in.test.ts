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

describe('the first screen of /docs on a laptop (1280 × 800)', () => {
  it('when the page loads, then it shows the introduction and the first operation, GET /v1/me, without scrolling; the reference is below the operations', async () => {
    const chromium = browsers[0] ?? (await browser());
    const page = await chromium.newPage({ width: 1280, height: 800 });
    await step(chromium, 'open /docs at 1280x800', () => openDocs(page, stack.apiUrl));
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    const introduction = page.locator('.information-container .description');
    await expect(introduction.innerText()).resolves.toMatch(/^The notes of a signed-in user[\s\S]*Try it here:[\s\S]*Reference:/);
    await expect(introduction.innerText()).resolves.not.toMatch(/Sending the access token|Rate limits/);

    const firstOperation = page.locator('.opblock').first();
    await expect(firstOperation.getAttribute('id')).resolves.toBe('operations-Account-getMe');
    const box = (await firstOperation.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(800);

    // The reference sections: all there, after the last operation.
    const reference = page.locator('section#reference');
    for (const heading of ['The sign-in flow', 'Finding the authorization server', 'Sending the access token', 'Errors', 'Rate limits', 'Headers on every response']) {
      await reference.getByRole('heading', { name: heading }).waitFor();
    }
    const lastOperation = (await page.locator('.opblock').last().boundingBox())!;
    expect((await reference.boundingBox())!.y).toBeGreaterThan(lastOperation.y + lastOperation.height);
    await page.close();
  });
});

describe('Authorize and "Try it out" in /docs', () => {
  it('when alice authorizes in the popup and allows, then the page is authorized, POST /v1/notes answers 201 and GET /v1/notes 200 with the note; bob, signed in the same way, does not see it', async () => {
    // The first story's browser (its Swagger UI page was not signed in: authorizations live in the page).
    const alice = browsers[0] ?? (await browser());
    const page = await alice.newPage();
    const problems = watchPageProblems(page);
    // The sign-in popup's too (the development server's pages, then the API's oauth2-redirect.html): no error, no
    // missing icon.
    const popupProblems: string[][] = [];
    alice.context.on('page', (opened) => popupProblems.push(watchPageProblems(opened)));
    const title = `From the docs page ${Date.now()}`;
    await step(alice, 'open /docs', () => openDocs(page, stack.apiUrl));
    await step(alice, 'authorize as alice', () => authorizeInDocs(page, 'alice'));
    expect(await page.locator('.auth-wrapper button.authorize').getAttribute('class')).toMatch(/\blocked\b/);
    expect(popupProblems).toHaveLength(1);
    expect(popupProblems.flat()).toEqual([]);

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
