/**
 * What a person does on the docs page (Swagger UI) and on the development server's sign-in pages, as playwright
 * steps: by labels, roles and Swagger UI's own controls, waiting for what the page shows, never for a fixed time.
 */
import type { Page } from 'playwright-core';

export const passwordOf = (user: string) => `${user}-dev-password`;

/** Fills the sign-in form and submits it (with the one-time code when given). */
export async function signInOnPage(page: Page, user: string, options: { password?: string; otp?: string } = {}): Promise<void> {
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(options.password ?? passwordOf(user));
  if (options.otp !== undefined) await page.getByLabel(/One-time code/).fill(options.otp);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits for the consent page and allows. */
export async function allowOnConsentPage(page: Page): Promise<void> {
  await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
  await page.getByRole('button', { name: 'Allow' }).click();
}

/** The `oauth2` section of Swagger UI's "Available authorizations" dialog. */
const oauth2Section = (page: Page) => page.locator('.auth-container', { has: page.locator('h4', { hasText: /^oauth2\b/ }) });

/** Opens the docs page and waits until Swagger UI has rendered the contract's operations. */
export async function openDocs(page: Page, apiUrl: string): Promise<void> {
  await page.goto(`${apiUrl}/docs`);
  await page.locator('#operations-Notes-listNotes').waitFor();
}

/**
 * "Authorize" → the `oauth2` scheme's Authorize (its client id and scopes already filled in) → sign in and allow in
 * the popup → back on the docs page, authorized; the dialog is closed again.
 */
export async function authorizeInDocs(page: Page, user: string, options: { beforeAllow?: (popup: Page) => Promise<void> } = {}): Promise<void> {
  await page.locator('.auth-wrapper button.authorize').click();
  const section = oauth2Section(page);
  // The dialog comes with the client id filled in: a person only clicks.
  if ((await section.locator('input[data-name="clientId"]').inputValue()) === '') throw new Error('the Authorize dialog has no client id');
  const [popup] = await Promise.all([page.waitForEvent('popup'), section.locator('button.authorize').click()]);
  await signInOnPage(popup, user);
  await popup.getByRole('heading', { name: 'Allow access?' }).waitFor();
  await options.beforeAllow?.(popup);
  await Promise.all([popup.waitForEvent('close'), allowOnConsentPage(popup)]);
  await section.getByRole('heading', { name: 'Authorized' }).or(section.getByText('Authorized', { exact: true })).first().waitFor();
  await section.locator('button.btn-done').click();
  await page.locator('.modal-ux').waitFor({ state: 'detached' });
}

/** What "Execute" showed: the live response's status and body text. */
export interface TriedResponse {
  status: number;
  body: string;
}

/** Expands an operation, "Try it out", optionally replaces its JSON body, "Execute", and reads the live response. */
export async function tryItOut(page: Page, operation: string, options: { body?: unknown } = {}): Promise<TriedResponse> {
  const block = page.locator(`[id^="operations-"][id$="-${operation}"]`);
  if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary-control').click();
  const tryOut = block.locator('button.try-out__btn');
  if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click();
  if (options.body !== undefined) await block.locator('textarea.body-param__text').fill(JSON.stringify(options.body));
  const clear = block.locator('button.btn-clear');
  if (await clear.isVisible()) await clear.click();
  await block.locator('button.execute').click();
  const live = block.locator('.live-responses-table .response');
  await live.first().waitFor();
  const status = Number((await live.first().locator('.response-col_status').innerText()).trim());
  const body = await live.first().locator('.response-col_description pre').first().innerText();
  return { status, body };
}
