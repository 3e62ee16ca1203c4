/**
 * `npm run login`: signs in the way the native app does (Authorization Code + PKCE, loopback redirect) and saves
 * the tokens. Run with --help for the options.
 */
import { parseArgs } from 'node:util';
import { describeOAuthError } from './authorization-server.js';
import { openInBrowser } from './browser.js';
import { LOGIN_TIMEOUT_MS, login } from './pkce-login.js';
import { DEFAULT_TOKENS_FILE, saveTokens } from './token-store.js';

const USAGE = `Usage: npm run login -- [options]

  --issuer URL         authorization server (default http://127.0.0.1:\${DEV_ISSUER_PORT:-4000})
  --client-id ID       the native app's client id (default notes-native-app)
  --audience AUD       the API identifier (default $AUDIENCE, else http://127.0.0.1:3000/)
  --scope "…"          default "openid offline_access read:notes write:notes delete:notes"
  --user U --password P   sign in without a browser (development server only)
  --port N             loopback port for the redirect (default: any free port)
  --prompt login       ask the server to sign in again (to switch users)
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
      issuer: { type: 'string' },
      'client-id': { type: 'string', default: 'notes-native-app' },
      audience: { type: 'string' },
      scope: { type: 'string', default: 'openid offline_access read:notes write:notes delete:notes' },
      user: { type: 'string' },
      password: { type: 'string' },
      port: { type: 'string', default: '0' },
      prompt: { type: 'string' },
      'no-browser': { type: 'boolean', default: false },
      'tokens-file': { type: 'string', default: DEFAULT_TOKENS_FILE },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  if ((values.user === undefined) !== (values.password === undefined)) throw new Error('--user and --password go together');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  readEnvFile();
  const issuer = values.issuer ?? `http://127.0.0.1:${process.env.DEV_ISSUER_PORT || 4000}`;
  const audience = values.audience ?? (process.env.AUDIENCE || 'http://127.0.0.1:3000/');
  const clientId = values['client-id'];

  console.log(`Signing in at ${issuer} as client ${clientId} for ${audience}…`);
  const tokens = await login({
    issuer,
    clientId,
    audience,
    scope: values.scope,
    port,
    prompt: values.prompt,
    headless: values.user !== undefined ? { user: values.user, password: values.password! } : undefined,
    onAuthorizationUrl(url) {
      console.log(`\nOpen this URL in a browser to sign in (waiting up to ${LOGIN_TIMEOUT_MS / 60_000} minutes):\n\n  ${url.href}\n`);
      if (!values['no-browser']) openInBrowser(url);
    },
  }).catch((error: unknown) => {
    const unreachable = describeOAuthError(error).startsWith('cannot reach');
    throw unreachable ? new Error(`${describeOAuthError(error)} at ${issuer}: is it running? (npm start starts the development one)`) : error;
  });
  saveTokens(values['tokens-file'], tokens);
  const lifetime = tokens.expires_at - Math.floor(Date.now() / 1000);
  console.log(
    `Signed in${tokens.subject ? ` as ${tokens.subject}` : ''}. Scopes: ${tokens.scope ?? '(not listed)'}; the access token is valid for ${lifetime} s` +
      `${tokens.refresh_token ? ', then refreshed with the saved refresh token' : ''}.\n` +
      `Tokens saved to ${values['tokens-file']} (readable only by you). Print the access token with: npm run -s token`,
  );
}

main().catch((error: unknown) => {
  console.error(`login failed: ${describeOAuthError(error)}`);
  if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
  process.exit(1);
});
