import fs from 'node:fs';
import path from 'node:path';

/** What the native app keeps after signing in. Times are epoch seconds. */
export interface StoredTokens {
  issuer: string;
  client_id: string;
  /** The API the access token was asked for (`audience`/`resource`), when one was named. */
  audience: string | null;
  /** Who signed in (the ID token's `sub`), for display. */
  subject: string | null;
  token_type: string;
  access_token: string;
  refresh_token: string | null;
  scope: string | null;
  expires_at: number;
  /**
   * For a DPoP-bound access token (`token_type` `dpop`): the JWK SHA-256 thumbprint of the key it is bound to, the
   * key kept beside the tokens (see `dpopKeyFileFor`).
   */
  dpop_jkt?: string | null;
  /** The API's base URL, when the sign-in started from it (`npm run login -- --api URL`). */
  api?: string | null;
}

/** Whether the saved access token is DPoP-bound: each request needs a proof signed by the saved key. */
export const isDpopBound = (tokens: StoredTokens): boolean => tokens.token_type.toLowerCase() === 'dpop';

/** Where `npm run login` keeps the tokens unless told otherwise (git-ignored). */
export const DEFAULT_TOKENS_FILE = path.join('.tokens', 'tokens.json');

/** There are no usable tokens: the user has to sign in (again). */
export class NotSignedInError extends Error {
  override name = 'NotSignedInError';
}

/**
 * Saves the tokens to a file only the user can read (0600), creating its folder 0700; the write is atomic.
 *
 * @example saveTokens('.tokens/tokens.json', tokens)
 */
export function saveTokens(file: string, tokens: StoredTokens): void {
  savePrivateJson(file, tokens);
}

/** Writes `value` as JSON to a file only the user can read (0600), creating its folder 0700; the write is atomic. */
export function savePrivateJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

/** Reads saved tokens; a missing or unreadable file is a `NotSignedInError`. */
export function readTokens(file: string): StoredTokens {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotSignedInError(`not signed in: ${file} does not exist`);
    throw error;
  }
  let tokens: Partial<StoredTokens> | null = null;
  try {
    tokens = JSON.parse(text) as Partial<StoredTokens>;
  } catch {
    // reported below
  }
  const valid =
    typeof tokens?.issuer === 'string' &&
    typeof tokens.client_id === 'string' &&
    typeof tokens.access_token === 'string' &&
    typeof tokens.expires_at === 'number';
  if (!valid) throw new NotSignedInError(`not signed in: ${file} does not hold saved tokens`);
  return tokens as StoredTokens;
}

/**
 * Runs `work` while holding `${file}.lock`, so that two processes never spend the same refresh token: with rotation
 * the second use would revoke the whole grant. Gives up after `timeoutMs`; a lock older than 30 s is left over
 * from a crash and is taken over.
 */
export async function withTokensLock<T>(file: string, work: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() - mtimeOf(lock) > 30_000) fs.rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another process; remove it if none is running`, { cause: error });
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function mtimeOf(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}
