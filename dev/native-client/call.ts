/**
 * `npm run -s call -- METHOD PATH [options]`: calls the API as the signed-in user, the way the native app does:
 * `Authorization: Bearer <token>`, or for a DPoP-bound token `Authorization: DPoP <token>` with a fresh proof for
 * this one request. Prints the status line and the body. Run with --help for the options.
 */
import { parseArgs } from 'node:util';
import { validTokens } from './access-token.js';
import {
  apiBaseFor,
  authorizationHeaders,
  callApi,
  callApiWithStepUp,
  curlCommand,
  learnDpopNonce,
  requestUrl,
  stepUpLoginCommand,
  type ApiResponse,
  type StepUpRequirement,
} from './api-call.js';
import { describeOAuthError } from './authorization-server.js';
import { openInBrowser } from './browser.js';
import { LOGIN_TIMEOUT_MS } from './pkce-login.js';
import { DEFAULT_TOKENS_FILE, NotSignedInError, readTokens } from './token-store.js';

const USAGE = `Usage: npm run -s call -- METHOD PATH [options]      e.g. npm run -s call -- GET /v1/notes

  --data JSON          a JSON request body (sent as application/json)
  --api URL            the API's base URL (default: the one --api signed in with, else http://127.0.0.1:\${PORT:-3000})
  --print-curl         print a ready curl command for this request (with a DPoP proof good for this one request,
                       for 5 minutes; 1 to 2 with DPoP nonces) instead of sending it; e.g. eval "$(npm run -s call -- --print-curl GET /v1/notes)"
  --step-up            when the API asks for a fresher or stronger sign-in (401 insufficient_user_authentication),
                       sign in again as it asks and retry once: in a browser, or headless with --user/--password
  --user U --password P [--otp CODE]   headless sign-in for --step-up (development server only)
  --tokens-file PATH   the saved tokens (default ${DEFAULT_TOKENS_FILE})

Exit status: 0 for a 2xx answer, 1 otherwise.`;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function readEnvFile(): void {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function show(response: ApiResponse): void {
  console.log(`HTTP/1.1 ${response.status} ${response.statusText}`);
  const challenge = response.headers.get('www-authenticate');
  if (challenge) console.log(`WWW-Authenticate: ${challenge}`);
  // While the API traces (OTEL_EXPORTER_OTLP_ENDPOINT), the trace this request belongs to: what to look up in Jaeger or Tempo.
  const serverTiming = response.headers.get('server-timing');
  if (serverTiming) console.log(`Server-Timing: ${serverTiming}`);
  if (!response.body) return;
  try {
    console.log(JSON.stringify(JSON.parse(response.body), null, 2));
  } catch {
    console.log(response.body);
  }
}

function describeStepUp(requirement: StepUpRequirement): string {
  const asked = [
    requirement.maxAge !== undefined && `a sign-in at most ${requirement.maxAge} s old (max_age=${requirement.maxAge})`,
    requirement.acrValues && `a sign-in of class ${requirement.acrValues} (acr_values)`,
  ].filter(Boolean);
  return asked.length > 0 ? asked.join(' and ') : 'a new sign-in';
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      api: { type: 'string' },
      'print-curl': { type: 'boolean', default: false },
      'step-up': { type: 'boolean', default: false },
      user: { type: 'string' },
      password: { type: 'string' },
      otp: { type: 'string' },
      'tokens-file': { type: 'string', default: DEFAULT_TOKENS_FILE },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [rawMethod, target, ...extra] = positionals;
  const method = rawMethod?.toUpperCase();
  if (!method || !METHODS.has(method) || !target || extra.length > 0) throw new UsageError('give a method and a path, e.g. GET /v1/notes');
  if (!target.startsWith('/') && !/^https?:\/\//i.test(target)) throw new UsageError('the path starts with / (or give a full http(s) URL)');
  if (values.data !== undefined) {
    try {
      JSON.parse(values.data);
    } catch {
      throw new UsageError('--data must be JSON, e.g. --data \'{"title":"Hello"}\'');
    }
  }
  if ((values.user === undefined) !== (values.password === undefined)) throw new UsageError('--user and --password go together');
  if (values.user !== undefined && !values['step-up']) throw new UsageError('--user and --password are for --step-up');
  readEnvFile();
  const tokensFile = values['tokens-file'];

  if (values['print-curl']) {
    const { tokens, dpopKey } = await validTokens({ tokensFile });
    const api = apiBaseFor(tokens, values.api);
    const url = requestUrl(api, target);
    // With DPOP_NONCE=required the proof needs the API's current nonce: ask for it first.
    await learnDpopNonce(tokens, dpopKey, api);
    const headers = await authorizationHeaders(tokens, dpopKey, { method, url });
    console.log(curlCommand({ method, url, headers, ...(values.data !== undefined ? { data: values.data } : {}) }));
    return 0;
  }

  const request = {
    tokensFile,
    ...(values.api !== undefined ? { api: values.api } : {}),
    method,
    target,
    ...(values.data !== undefined ? { data: values.data } : {}),
  };
  const headless = values.user !== undefined ? { user: values.user, password: values.password!, ...(values.otp ? { otp: values.otp } : {}) } : undefined;
  const { first, retried } = !values['step-up']
    ? { first: await callApi(request), retried: undefined }
    : await callApiWithStepUp({
        ...request,
        how: {
          ...(headless ? { headless } : {}),
          onAuthorizationUrl(url) {
            console.log(`\nOpen this URL in a browser to sign in again (waiting up to ${LOGIN_TIMEOUT_MS / 60_000} minutes):\n\n  ${url.href}\n`);
            openInBrowser(url);
          },
        },
        onStepUp(response) {
          show(response);
          console.log(`\nThe API asks for ${describeStepUp(response.stepUp!)}: signing in again${headless ? ` as ${headless.user}` : ''}, then retrying once.\n`);
        },
      });
  const last = retried ?? first;
  show(last);
  if (last.stepUp && !retried) {
    const tokens = readTokens(tokensFile);
    console.log(`\nThe API asks for ${describeStepUp(last.stepUp)} (RFC 9470). Sign in again with:\n\n  ${stepUpLoginCommand(tokens, last.stepUp, tokensFile)}\n`);
    const again = [method, target, ...(values.data !== undefined ? ['--data', values.data] : [])].map((arg) => (/^[\w/.:-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`));
    const headlessHint = last.stepUp.acrValues ? '[--user U --password P --otp CODE]' : '[--user U --password P]';
    console.log(`then run this call again; or let it do both: npm run -s call -- ${again.join(' ')} --step-up ${headlessHint}`);
  }
  return last.status >= 200 && last.status < 300 ? 0 : 1;
}

class UsageError extends Error {}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    const hint = error instanceof NotSignedInError ? ' (run: npm run login)' : '';
    console.error(`call failed: ${describeOAuthError(error)}${hint}`);
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) console.error(USAGE);
    process.exit(1);
  },
);
