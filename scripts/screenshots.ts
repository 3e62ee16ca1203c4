/// <reference lib="dom" />
/**
 * `npm run screenshots`: renders what README shows into docs/images/ with the browser tests' harness (the real API
 * and development server on 127.0.0.1, Chromium driven by playwright-core): the docs page signed in as alice after
 * "Try it out", and the development server's sign-in and consent pages on a phone-sized screen.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as client from 'openid-client';
import { discoverAuthorizationServer } from '../dev/native-client/authorization-server.js';
import { authorizationParameters } from '../dev/native-client/pkce-login.js';
import { ALL_SCOPES, CLIENT_ID, UNUSED_LOOPBACK_REDIRECT, startDevStack } from '../test/e2e/dev-stack.js';
import { launchChromium } from '../test/support/browser.js';
import { authorizeInDocs, openDocs, signInOnPage, tryItOut } from '../test/support/docs-ui.js';

const OUT = path.resolve('docs', 'images');

const stack = await startDevStack({ docsPage: true });
const chromium = await launchChromium({ width: 1000, height: 820 });
try {
  fs.mkdirSync(OUT, { recursive: true });
  const saved: string[] = [];
  const save = (name: string) => {
    const file = path.join(OUT, name);
    saved.push(file);
    return file;
  };

  const docs = await chromium.newPage();
  await openDocs(docs, stack.apiUrl);
  await authorizeInDocs(docs, 'alice');
  await tryItOut(docs, 'createNote', { body: { title: 'Groceries', body: 'Milk, eggs, bread.' } });
  await docs.locator('#operations-Notes-createNote .opblock-summary-control').click();
  await tryItOut(docs, 'listNotes');
  // The live 200 response of the signed-in list (the Bearer token in its curl line, alice's note in its body), not
  // the whole (long) page: from the Execute button down.
  await docs.locator('#operations-Notes-listNotes button.execute').evaluate((button) => button.scrollIntoView());
  await docs.screenshot({ path: save('docs-signed-in.png'), animations: 'disabled' });

  await chromium.context.clearCookies();
  const config = await discoverAuthorizationServer(stack.devServer.issuer, CLIENT_ID);
  const url = client.buildAuthorizationUrl(
    config,
    authorizationParameters({
      redirectUri: UNUSED_LOOPBACK_REDIRECT,
      scope: ALL_SCOPES,
      state: client.randomState(),
      codeChallenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      audience: stack.audience,
    }),
  );
  const phone = await chromium.newPage({ width: 390, height: 720 });
  await phone.goto(url.href);
  await phone.getByLabel('User name').waitFor();
  await phone.screenshot({ path: save('sign-in.png') });
  await signInOnPage(phone, 'alice');
  await phone.getByRole('heading', { name: 'Allow access?' }).waitFor();
  await phone.screenshot({ path: save('consent.png') });

  for (const file of saved) console.log(`${path.relative(process.cwd(), file)}: ${Math.round(fs.statSync(file).size / 1024)} KiB`);
} finally {
  await chromium.close();
  await stack.close();
}
