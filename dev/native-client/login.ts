/**
 * `npm run login`: signs in the way the native app does (Authorization Code + PKCE, loopback redirect) and saves
 * the tokens. Run with --help for the options.
 */
import { parseArgs } from 'node:util';
import { describeOAuthError } from './authorization-server.js';
import { openInBrowser } from './browser.js';
import { createDpopKey, dpopKeyFileFor, removeDpopKey, saveDpopKey, type DpopKey } from './dpop-key.js';
import { DEFAULT_SCOPE, LOGIN_TIMEOUT_MS, login } from './pkce-login.js';
import { planSignInFromApi } from './resource-discovery.js';
import { DEFAULT_TOKENS_FILE, saveTokens } from './token-store.js';

const USAGE = `Usage: npm run login -- [options]

  --api URL            start from the API alone (e.g. http://127.0.0.1:3000): its 401 challenge names its
                       resource metadata (RFC 9728), which names the issuer and the audience
  --issuer URL         authorization server (default http://127.0.0.1:\${DEV_ISSUER_PORT:-4000})
  --client-id ID       the native app's client id (default notes-native-app)
  --opaque             ask for an opaque access token (the development server's notes-native-app-opaque
                       client, as --client-id notes-native-app-opaque): the API introspects it (RFC 7662)
  --audience AUD       the API identifier (default $AUDIENCE, else http://127.0.0.1:3000/)
  --scope "…"          default "${DEFAULT_SCOPE}"
                       (with --api: openid offline_access and the API's scopes_supported)
  --dpop               bind the tokens to a new ES256 key (DPoP, RFC 9449), kept beside them (0600)
  --max-age N          sign in again unless the last sign-in is at most N seconds old (step-up)
  --acr-values "…"     ask for a kind of sign-in, e.g. urn:notes:mfa (password and one-time code)
  --user U --password P   sign in without a browser (development server only)
  --otp CODE           with --user: the one-time code (development server: 000000)
  --port N             loopback port for the redirect (default: any free port)
  --prompt login       ask the server to sign in again (to switch users)
  --browser "CMD"      open the sign-in page with this command (%s: the URL, else appended); default
                       $BROWSER, else the desktop's default browser
  --no-browser         print the URL without opening a browser
  --tokens-file PATH   where to save the tokens (default ${DEFAULT_TOKENS_FILE})`;

function readEnvFile(): void {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      api: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      opaque: { type: 'boolean', default: false },
      audience: { type: 'string' },
      scope: { type: 'string' },
      dpop: { type: 'boolean', default: false },
      'max-age': { type: 'string' },
      'acr-values': { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      otp: { type: 'string' },
      port: { type: 'string', default: '0' },
      prompt: { type: 'string' },
      browser: { type: 'string' },
      'no-browser': { type: 'boolean', default: false },
      'tokens-file': { type: 'string', default: DEFAULT_TOKENS_FILE },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  if ((values.user === undefined) !== (values.password === undefined)) throw new Error('--user and --password go together');
  if (values.otp !== undefined && values.user === undefined) throw new Error('--otp goes with --user and --password (in a browser, type it on the page)');
  if (values.api !== undefined && (values.issuer !== undefined || values.audience !== undefined)) {
    throw new Error('--api finds the issuer and the audience itself: leave out --issuer and --audience');
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  const maxAge = values['max-age'] === undefined ? undefined : Number(values['max-age']);
  if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge >= 0)) throw new Error('--max-age must be a number of seconds');
  readEnvFile();
  if (values.opaque && values['client-id'] !== undefined) throw new Error('--opaque names the client itself: leave out --client-id');
  const clientId = values['client-id'] ?? (values.opaque ? 'notes-native-app-opaque' : 'notes-native-app');
  const tokensFile = values['tokens-file'];

  let issuer: string;
  let audience: string;
  let scope = values.scope ?? DEFAULT_SCOPE;
  let bind = values.dpop;
  if (values.api !== undefined) {
    console.log(`Asking ${values.api} where to sign in…`);
    const plan = await planSignInFromApi(values.api, { dpop: values.dpop });
    ({ issuer, audience } = plan);
    if (values.scope === undefined && plan.scope) scope = plan.scope;
    const { resource } = plan;
    console.log(
      `The API is the protected resource ${audience} (metadata ${resource.metadataUrl}); tokens for it come from ${issuer}.` +
        (resource.dpopSigningAlgValues.length > 0
          ? ` It takes DPoP-bound tokens${resource.dpopBoundAccessTokensRequired ? ' only' : ''} (${resource.dpopSigningAlgValues.join(' ')}).`
          : ' It takes no DPoP tokens.'),
    );
    if (plan.dpop && !values.dpop) console.log('It takes only DPoP-bound tokens (dpop_bound_access_tokens_required), so this sign-in binds them to a key (as --dpop).');
    bind = plan.dpop;
  } else {
    issuer = values.issuer ?? `http://127.0.0.1:${process.env.DEV_ISSUER_PORT || 4000}`;
    audience = values.audience ?? (process.env.AUDIENCE || 'http://127.0.0.1:3000/');
  }

  const keyFile = dpopKeyFileFor(tokensFile);
  const dpopKey: DpopKey | undefined = bind ? await createDpopKey() : undefined;
  const asked = [maxAge !== undefined && `max_age=${maxAge}`, values['acr-values'] && `acr_values=${values['acr-values']}`].filter(Boolean);
  console.log(
    `Signing in at ${issuer} as client ${clientId} for ${audience}${dpopKey ? `, DPoP key ${dpopKey.jkt}` : ''}` +
      `${asked.length > 0 ? ` (${asked.join(', ')})` : ''}…`,
  );
  const tokens = await login({
    issuer,
    clientId,
    audience,
    scope,
    port,
    prompt: values.prompt,
    ...(maxAge !== undefined ? { maxAge } : {}),
    ...(values['acr-values'] ? { acrValues: values['acr-values'] } : {}),
    ...(dpopKey ? { dpopKey } : {}),
    headless: values.user !== undefined ? { user: values.user, password: values.password!, ...(values.otp ? { otp: values.otp } : {}) } : undefined,
    onAuthorizationUrl(url) {
      console.log(`\nOpen this URL in a browser to sign in (waiting up to ${LOGIN_TIMEOUT_MS / 60_000} minutes):\n\n  ${url.href}\n`);
      if (!values['no-browser']) openInBrowser(url, values.browser === undefined ? {} : { browser: values.browser });
    },
  }).catch((error: unknown) => {
    const unreachable = describeOAuthError(error).startsWith('cannot reach');
    throw unreachable ? new Error(`${describeOAuthError(error)} at ${issuer}: is it running? (npm start starts the development one)`) : error;
  });
  // The key first: saved tokens are never without the key they are bound to.
  if (dpopKey) await saveDpopKey(keyFile, dpopKey);
  else removeDpopKey(keyFile);
  saveTokens(tokensFile, { ...tokens, api: values.api ?? null });

  const lifetime = tokens.expires_at - Math.floor(Date.now() / 1000);
  console.log(
    `Signed in${tokens.subject ? ` as ${tokens.subject}` : ''}. Scopes: ${tokens.scope ?? '(not listed)'}; the access token is valid for ${lifetime} s` +
      `${tokens.refresh_token ? ', then refreshed with the saved refresh token' : ''}.\n` +
      (dpopKey
        ? `It is DPoP-bound (cnf.jkt ${dpopKey.jkt}): every request needs a fresh proof signed by the key in ${keyFile}.\n` +
          `Tokens saved to ${tokensFile} (readable only by you). Call the API with: npm run -s call -- GET /v1/notes`
        : `Tokens saved to ${tokensFile} (readable only by you). Print the access token with: npm run -s token`),
  );
}

main().catch((error: unknown) => {
  console.error(`login failed: ${describeOAuthError(error)}`);
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
  process.exit(1);
});
