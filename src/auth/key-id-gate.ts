import { ServiceUnavailableError } from '../errors.js';
import { InvalidTokenError } from './auth-errors.js';
import { fetchJson, jwksUrlOf } from './issuer-metadata.js';

export interface KeyIdGateSettings {
  issuers: readonly string[];
  jwksUri: string | undefined;
  timeoutMs: number;
  /** The shortest time between two fetches of one issuer's key set (and the first back-off step). */
  minIntervalMs: number;
  /** The longest back-off after fetches that did not find the key asked for. */
  maxBackoffMs: number;
  /** Told of every request this gate makes to an authorization server (for metrics). */
  onFetch?: (kind: 'discovery' | 'jwks', outcome: 'ok' | 'error') => void;
  now?: () => number;
}

interface PublishedKey {
  kid: string | undefined;
  alg: string | undefined;
  kty: string | undefined;
}

interface IssuerKeys {
  keys: PublishedKey[] | undefined;
  jwksUrl: string | undefined;
  inFlight: Promise<void> | undefined;
  /** No new fetch for an unknown key before this instant. */
  nextFetchAt: number;
  backoffMs: number;
  /** The issuer's `Cache-Control: max-age` on its key set, which caps the back-off. */
  maxAgeMs: number | undefined;
  /** Whether the last fetch failed: then an unknown key cannot be judged, and the answer is 503, not 401. */
  lastFetchFailed: boolean;
}

const UNKNOWN_KEY = 'The access token is signed with a key this API does not know.';
const unreachable = (cause?: unknown) =>
  new ServiceUnavailableError('The authorization server could not be reached to check the access token; retry shortly.', {
    cause,
    extensions: { action: 'retry' },
  });
const KTY_OF_ALG: Record<string, string> = { RS: 'RSA', PS: 'RSA', ES: 'EC', Ed: 'OKP' };

/**
 * Decides, before the token library sees a token, whether the key it names is one its issuer publishes. The
 * library refetches the key set for every unknown `kid` once its cool-down has passed; fed only `kid`s the issuer
 * really publishes, it fetches once per new signing key. The gate learns the published `kid`s by fetching the key
 * set itself, when a token names one it does not know:
 * - at once when the last fetch is at least `minIntervalMs` old, so a newly published key is accepted within
 *   about that long of its first use;
 * - after a fetch that did not find the key asked for, not again before an exponentially growing back-off
 *   (`minIntervalMs`, doubled each time, at most `maxBackoffMs`, at most the issuer's `Cache-Control: max-age`),
 *   so a flood of tokens naming random keys costs a handful of fetches; a fetch that finds its key resets it;
 * - one fetch at a time per issuer (concurrent tokens wait for the same answer).
 * Tokens naming a known key pass without any of this.
 */
export class KeyIdGate {
  private readonly state = new Map<string, IssuerKeys>();
  private readonly now: () => number;

  constructor(private readonly settings: KeyIdGateSettings) {
    this.now = settings.now ?? Date.now;
    for (const issuer of settings.issuers) {
      this.state.set(issuer, { keys: undefined, jwksUrl: undefined, inFlight: undefined, nextFetchAt: 0, backoffMs: 0, maxAgeMs: undefined, lastFetchFailed: false });
    }
  }

  /**
   * Resolves when a token from `iss` naming `kid` (signed with `alg`) may go on to verification; throws the
   * refusal otherwise. Tokens claiming an issuer that is not configured are left to the library (it refuses them
   * by `iss` when several issuers are configured; with one, the one issuer's keys decide).
   */
  async admit(iss: unknown, kid: unknown, alg: unknown): Promise<void> {
    const issuer = this.issuerFor(iss);
    if (!issuer) return;
    const state = this.state.get(issuer)!;
    const wanted = { kid: typeof kid === 'string' ? kid : undefined, alg: typeof alg === 'string' ? alg : undefined };
    if (this.publishes(state, wanted)) return;
    if (state.inFlight) await state.inFlight;
    else if (this.now() >= state.nextFetchAt) await this.refresh(issuer, state, wanted);
    if (this.publishes(state, wanted)) return;
    if (state.lastFetchFailed) throw unreachable();
    throw new InvalidTokenError(UNKNOWN_KEY);
  }

  private issuerFor(iss: unknown): string | undefined {
    if (typeof iss === 'string' && this.state.has(iss)) return iss;
    return this.settings.issuers.length === 1 ? this.settings.issuers[0] : undefined;
  }

  /** Whether the key set has the key jose would pick: by `kid`, or for a token without one, by algorithm. */
  private publishes(state: IssuerKeys, wanted: { kid: string | undefined; alg: string | undefined }): boolean {
    if (!state.keys) return false;
    if (wanted.kid !== undefined) return state.keys.some((key) => key.kid === wanted.kid);
    const kty = wanted.alg === undefined ? undefined : KTY_OF_ALG[wanted.alg.slice(0, 2)];
    return state.keys.some((key) => (key.alg === undefined ? key.kty === kty : key.alg === wanted.alg));
  }

  private refresh(issuer: string, state: IssuerKeys, wanted: { kid: string | undefined; alg: string | undefined }): Promise<void> {
    const { timeoutMs, minIntervalMs, maxBackoffMs } = this.settings;
    const done = (async () => {
      try {
        state.jwksUrl ??= await this.tracked('discovery', () => jwksUrlOf(issuer, this.settings.jwksUri, timeoutMs));
        const { body, maxAgeSeconds } = await this.tracked('jwks', () => fetchJson(state.jwksUrl!, timeoutMs));
        const keys = (body as { keys?: unknown } | null)?.keys;
        if (!Array.isArray(keys)) throw new Error('the JWKS has no "keys" array');
        state.keys = keys.map((key: Record<string, unknown>) => ({
          kid: typeof key?.kid === 'string' ? key.kid : undefined,
          alg: typeof key?.alg === 'string' ? key.alg : undefined,
          kty: typeof key?.kty === 'string' ? key.kty : undefined,
        }));
        state.maxAgeMs = maxAgeSeconds === undefined ? undefined : maxAgeSeconds * 1000;
        state.lastFetchFailed = false;
      } catch (error) {
        state.lastFetchFailed = true;
        throw unreachable(error);
      } finally {
        // Whatever the outcome, the next fetch waits at least minIntervalMs. Finding the key asked for resets the
        // back-off; not finding it (or not reaching the issuer) doubles it, up to the cap.
        if (!state.lastFetchFailed && this.publishes(state, wanted)) {
          state.backoffMs = 0;
          state.nextFetchAt = this.now() + minIntervalMs;
        } else {
          const cap = Math.max(minIntervalMs, Math.min(maxBackoffMs, state.maxAgeMs ?? Infinity));
          state.backoffMs = state.backoffMs === 0 ? minIntervalMs : Math.min(state.backoffMs * 2, cap);
          state.nextFetchAt = this.now() + state.backoffMs;
        }
        state.inFlight = undefined;
      }
    })();
    state.inFlight = done;
    return done;
  }

  private async tracked<T>(kind: 'discovery' | 'jwks', work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.settings.onFetch?.(kind, 'ok');
      return result;
    } catch (error) {
      this.settings.onFetch?.(kind, 'error');
      throw error;
    }
  }
}
