/**
 * `npm run -s token`: prints a valid access token and nothing else, refreshing it when it has expired or
 * expires within 30 s. For example: curl -H "Authorization: Bearer $(npm run -s token)" http://127.0.0.1:3000/v1/notes
 * A DPoP-bound token (`npm run login -- --dpop`) is refreshed with its key too, but is useless without a proof for
 * each request: `npm run -s call -- GET /v1/notes` makes one, `npm run -s call -- --print-curl GET /v1/notes` prints
 * curl headers with one.
 */
import { parseArgs } from 'node:util';
import { validAccessToken } from './access-token.js';
import { describeOAuthError } from './authorization-server.js';
import { DEFAULT_TOKENS_FILE, NotSignedInError } from './token-store.js';

try {
  const { values } = parseArgs({ options: { 'tokens-file': { type: 'string', default: DEFAULT_TOKENS_FILE } } });
  process.stdout.write(`${await validAccessToken({ tokensFile: values['tokens-file'] })}\n`);
} catch (error) {
  const hint = error instanceof NotSignedInError ? ' (run: npm run login)' : '';
  console.error(`token: ${describeOAuthError(error)}${hint}`);
  process.exit(1);
}
