import { validTokens } from './access-token.js';
import { fetchFrom } from './authorization-server.js';
import { dpopKeyFileFor, dpopProof, readDpopKey, type DpopKey } from './dpop-key.js';
import type { HeadlessCredentials } from './headless.js';
import { DEFAULT_SCOPE, login } from './pkce-login.js';
import { apiUrl } from './resource-discovery.js';
import { DEFAULT_TOKENS_FILE, isDpopBound, saveTokens, type StoredTokens } from './token-store.js';
import { parseWwwAuthenticate, type Challenge } from './www-authenticate.js';

/** Seconds allowed for a request to the API. */
export const API_TIMEOUT_SECONDS = 10;

/** What the API asked for with 401 `insufficient_user_authentication` (RFC 9470 §3). */
export interface StepUpRequirement {
  /** Sign in again if the last login is older than this many seconds. */
  maxAge?: number;
  /** Sign in with one of these authentication context classes (space-separated). */
  acrValues?: string;
  description?: string;
}

export interface ApiResponse {
  url: URL;
  method: string;
  status: number;
  statusText: string;
  headers: Headers;
  body: string;
  challenges: Challenge[];
  /** Set when the API refused the request for want of a fresher or stronger login. */
  stepUp?: StepUpRequirement;
  /** Set when the API first answered 401 `use_dpop_nonce` and this is the answer to the retry with its nonce. */
  nonceRetried?: true;
}

/**
 * The latest DPoP nonce each API (by origin) sent in `DPoP-Nonce` (RFC 9449 §8.2): the next proof for it carries this
 * one, so a client that calls often enough never meets `use_dpop_nonce` again. Kept for this process only.
 */
const latestNonces = new Map<string, string>();

/** The nonce to put in the next proof for `url`'s API, if it sent one. */
export function latestDpopNonce(url: URL): string | undefined {
  return latestNonces.get(url.origin);
}

function rememberNonce(url: URL, headers: Headers): void {
  const nonce = headers.get('dpop-nonce');
  // RFC 9449 §8: nonce = 1*NQCHAR; anything else is not used in a proof.
  if (nonce !== null && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce)) latestNonces.set(url.origin, nonce);
}

/** Whether a 401 asks for a proof with the server's nonce (RFC 9449 §9). */
function demandsNonce(status: number, challenges: readonly Challenge[]): boolean {
  return status === 401 && challenges.some((challenge) => challenge.scheme.toLowerCase() === 'dpop' && challenge.params.error === 'use_dpop_nonce');
}

/**
 * The headers that authorize one request: `Authorization: Bearer <token>`, or for a DPoP-bound token
 * `Authorization: DPoP <token>` and a `DPoP` proof made for this method and URL only (it is good for one request).
 */
export async function authorizationHeaders(
  tokens: StoredTokens,
  dpopKey: DpopKey | undefined,
  request: { method: string; url: URL },
): Promise<Record<string, string>> {
  if (!isDpopBound(tokens)) return { Authorization: `Bearer ${tokens.access_token}` };
  if (!dpopKey) throw new Error('the access token is DPoP-bound: its key is needed to make the proof');
  const nonce = latestDpopNonce(request.url);
  return {
    Authorization: `DPoP ${tokens.access_token}`,
    DPoP: await dpopProof(dpopKey, { method: request.method, url: request.url, accessToken: tokens.access_token, ...(nonce ? { nonce } : {}) }),
  };
}

/** The step-up requirement in a 401's challenges (in the challenge of the scheme used), if that is why it refused. */
export function stepUpRequirement(status: number, challenges: readonly Challenge[]): StepUpRequirement | undefined {
  if (status !== 401) return undefined;
  const challenge = challenges.find((each) => each.params.error === 'insufficient_user_authentication');
  if (!challenge) return undefined;
  const { max_age: maxAge, acr_values: acrValues, error_description: description } = challenge.params;
  return {
    ...(maxAge !== undefined && /^\d+$/.test(maxAge) ? { maxAge: Number(maxAge) } : {}),
    ...(acrValues ? { acrValues } : {}),
    ...(description ? { description } : {}),
  };
}

/**
 * Sends one request to the API with the saved tokens (refreshed when they have expired), a fresh proof when bound.
 * When the API demands a DPoP nonce (401 `use_dpop_nonce`), makes a new proof with it and retries once.
 */
export async function sendApiRequest(options: {
  tokens: StoredTokens;
  dpopKey?: DpopKey;
  method: string;
  url: URL;
  /** A JSON body. */
  data?: string;
  timeoutMs?: number;
}): Promise<ApiResponse> {
  const { response: first, usedNonce } = await sendOnce(options);
  if (!options.dpopKey || !isDpopBound(options.tokens) || !demandsNonce(first.status, first.challenges)) return first;
  // Retried only with a new nonce: a refusal of the very nonce just sent would come again.
  const fresh = latestDpopNonce(options.url);
  if (fresh === undefined || fresh === usedNonce) return first;
  return { ...(await sendOnce(options)).response, nonceRetried: true };
}

async function sendOnce(options: Parameters<typeof sendApiRequest>[0]): Promise<{ response: ApiResponse; usedNonce: string | undefined }> {
  const { tokens, dpopKey, url, data, timeoutMs = API_TIMEOUT_SECONDS * 1000 } = options;
  const method = options.method.toUpperCase();
  const usedNonce = latestDpopNonce(url);
  const headers = {
    Accept: 'application/json, application/problem+json',
    ...(data !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...(await authorizationHeaders(tokens, dpopKey, { method, url })),
  };
  const response = await fetchFrom('the API', url, { method, headers, body: data, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  rememberNonce(url, response.headers);
  let challenges: Challenge[] = [];
  try {
    challenges = parseWwwAuthenticate(response.headers.get('www-authenticate'));
  } catch {
    // A challenge this client cannot read is shown as it is, but not acted on.
  }
  const stepUp = stepUpRequirement(response.status, challenges);
  return {
    response: { url, method, status: response.status, statusText: response.statusText, headers: response.headers, body, challenges, ...(stepUp ? { stepUp } : {}) },
    usedNonce,
  };
}

/**
 * Learns the API's current DPoP nonce, if it uses them, before a proof is made for someone else to send (a printed
 * curl command cannot retry): a read-only GET /v1/me whose answer carries `DPoP-Nonce` (RFC 9449 §8.2).
 */
export async function learnDpopNonce(tokens: StoredTokens, dpopKey: DpopKey | undefined, api: string): Promise<void> {
  if (!dpopKey || !isDpopBound(tokens)) return;
  await sendOnce({ tokens, dpopKey, method: 'GET', url: apiUrl(api, '/v1/me') });
}

/** The API's base URL for a call: the one given, else the one the sign-in started from, else the local API. */
export function apiBaseFor(tokens: StoredTokens, api: string | undefined): string {
  return api ?? tokens.api ?? `http://127.0.0.1:${process.env.PORT || 3000}`;
}

/** A path of the API (`/v1/notes`) or an absolute URL, as a URL. */
export function requestUrl(api: string, target: string): URL {
  return /^https?:\/\//i.test(target) ? new URL(target) : apiUrl(api, target);
}

export interface CallOptions {
  tokensFile?: string;
  /** The API's base URL; default: see `apiBaseFor`. */
  api?: string;
  method: string;
  /** A path of the API (`/v1/notes`) or an absolute URL. */
  target: string;
  data?: string;
  timeoutMs?: number;
}

/** Calls the API as the signed-in user. */
export async function callApi(options: CallOptions): Promise<ApiResponse> {
  const { tokens, dpopKey } = await validTokens({ tokensFile: options.tokensFile ?? DEFAULT_TOKENS_FILE });
  const url = requestUrl(apiBaseFor(tokens, options.api), options.target);
  return sendApiRequest({ tokens, ...(dpopKey ? { dpopKey } : {}), method: options.method, url, data: options.data, timeoutMs: options.timeoutMs });
}

/**
 * Signs the user in again the way the API asked (`max_age`, `acr_values`), for the same issuer, API and scopes, with
 * the same DPoP key when the tokens are bound, and saves the new tokens.
 */
export async function stepUpLogin(
  tokensFile: string,
  tokens: StoredTokens,
  requirement: StepUpRequirement,
  how: { headless?: HeadlessCredentials; onAuthorizationUrl?: (url: URL) => void; timeoutMs?: number },
): Promise<StoredTokens> {
  const dpopKey = isDpopBound(tokens) ? await readDpopKey(dpopKeyFileFor(tokensFile)) : undefined;
  const fresh = await login({
    issuer: tokens.issuer,
    clientId: tokens.client_id,
    ...(tokens.audience ? { audience: tokens.audience } : {}),
    scope: tokens.scope ? [...new Set(['openid', 'offline_access', ...tokens.scope.split(' ')])].join(' ') : DEFAULT_SCOPE,
    ...(requirement.maxAge !== undefined ? { maxAge: requirement.maxAge } : {}),
    ...(requirement.acrValues ? { acrValues: requirement.acrValues } : {}),
    ...(dpopKey ? { dpopKey } : {}),
    ...how,
  });
  const saved = { ...fresh, api: tokens.api ?? null };
  saveTokens(tokensFile, saved);
  return saved;
}

/**
 * Calls the API; when it answers 401 `insufficient_user_authentication`, signs in again as it asked (`how`) and
 * retries once. `onStepUp` is told before the new sign-in.
 */
export async function callApiWithStepUp(
  options: CallOptions & {
    how: { headless?: HeadlessCredentials; onAuthorizationUrl?: (url: URL) => void; timeoutMs?: number };
    onStepUp?: (first: ApiResponse) => void;
  },
): Promise<{ first: ApiResponse; retried?: ApiResponse }> {
  const tokensFile = options.tokensFile ?? DEFAULT_TOKENS_FILE;
  const first = await callApi({ ...options, tokensFile });
  if (!first.stepUp) return { first };
  options.onStepUp?.(first);
  const { tokens } = await validTokens({ tokensFile });
  const fresh = await stepUpLogin(tokensFile, tokens, first.stepUp, options.how);
  const { dpopKey } = await validTokens({ tokensFile });
  const retried = await sendApiRequest({
    tokens: fresh,
    ...(dpopKey ? { dpopKey } : {}),
    method: first.method,
    url: first.url,
    data: options.data,
    timeoutMs: options.timeoutMs,
  });
  return { first, retried };
}

const shellQuote = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/** The exact `npm run login` command that signs in again as the API asked. */
export function stepUpLoginCommand(tokens: StoredTokens, requirement: StepUpRequirement, tokensFile = DEFAULT_TOKENS_FILE): string {
  const args = tokens.api ? ['--api', tokens.api] : ['--issuer', tokens.issuer, ...(tokens.audience ? ['--audience', tokens.audience] : [])];
  if (tokens.client_id !== 'notes-native-app') args.push('--client-id', tokens.client_id);
  if (isDpopBound(tokens)) args.push('--dpop');
  if (requirement.maxAge !== undefined) args.push('--max-age', String(requirement.maxAge));
  if (requirement.acrValues) args.push('--acr-values', requirement.acrValues);
  if (tokensFile !== DEFAULT_TOKENS_FILE) args.push('--tokens-file', tokensFile);
  return `npm run login -- ${args.map(shellQuote).join(' ')}`;
}

/**
 * A ready curl command for one request, its headers included: for a DPoP-bound token, `Authorization: DPoP …` and a
 * proof made for exactly this method and URL, good for one request within the API's proof lifetime (5 minutes).
 */
export function curlCommand(request: { method: string; url: URL; headers: Record<string, string>; data?: string }): string {
  const parts = ['curl', '-sS', '-X', request.method.toUpperCase()];
  for (const [name, value] of Object.entries(request.headers)) parts.push('-H', shellQuote(`${name}: ${value}`));
  if (request.data !== undefined) parts.push('-H', shellQuote('Content-Type: application/json'), '--data-raw', shellQuote(request.data));
  parts.push(shellQuote(request.url.href));
  return parts.join(' ');
}
