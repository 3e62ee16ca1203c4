import { issuerUnreachable, UnknownKeyError } from './auth-errors.js';
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
  /**
   * Lets each issuer's first token go to the token library without a fetch of the gate's own: the library fetches
   * the key set for it anyway, and the gate learns from the outcome (`settled`), so a steady run fetches each key
   * set once, not twice. Needs `settled` after every verification of a token the gate admitted.
   */
  deferFirstFetch?: boolean;
  now?: () => number;
}

interface PublishedKey {
  kid: string | undefined;
  alg: string | undefined;
  kty: string | undefined;
}

interface IssuerKeys {
  /** The key set as the gate last fetched it. */
  keys: PublishedKey[] | undefined;
  /** Keys the token library has verified a token with since the gate's last fetch: published too. */
  verified: PublishedKey[];
  /** While true (from the start, with deferFirstFetch), tokens go to the library unfetched: see `settled`. */
  deferring: boolean;
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

const KTY_OF_ALG: Record<string, string> = { RS: 'RSA', PS: 'RSA', ES: 'EC', Ed: 'OKP' };
/** Issuers sign with a handful of keys at a time; more learned than this, the oldest is forgotten (and refetched). */
const MAX_VERIFIED_KEYS = 16;

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
 * Tokens naming a known key pass without any of this. With `deferFirstFetch`, an issuer's first tokens go to the
 * library unchecked until one of them is verified (its key is then known) or names a key the library does not find
 * (the gate then fetches for the next unknown key at once, and paces from there); keys of verified tokens count as
 * published until the gate's next fetch.
 */
export class KeyIdGate {
  private readonly state = new Map<string, IssuerKeys>();
  private readonly now: () => number;

  constructor(private readonly settings: KeyIdGateSettings) {
    this.now = settings.now ?? Date.now;
    for (const issuer of settings.issuers) {
      this.state.set(issuer, {
        keys: undefined,
        verified: [],
        deferring: settings.deferFirstFetch ?? false,
        jwksUrl: undefined,
        inFlight: undefined,
        nextFetchAt: 0,
        backoffMs: 0,
        maxAgeMs: undefined,
        lastFetchFailed: false,
      });
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
    const wanted = keyNamed(kid, alg);
    if (this.publishes(state, wanted)) return;
    if (state.deferring) return; // the library's first fetch answers for this token and the ones with it
    if (state.inFlight) await state.inFlight;
    else if (this.now() >= state.nextFetchAt) await this.refresh(issuer, state, wanted);
    if (this.publishes(state, wanted)) return;
    if (state.lastFetchFailed) throw issuerUnreachable();
    throw new UnknownKeyError();
  }

  /**
   * Told how the token library's verification of a token the gate admitted ended. `verified`: the issuer publishes
   * the key the token names. `unknown-key` or `unreachable` while the first fetch is deferred: the gate takes over,
   * fetching for the next unknown key at once, or after its cool-down when the issuer could not be reached (the
   * library would try again on every token).
   */
  settled(iss: unknown, kid: unknown, alg: unknown, outcome: 'verified' | 'unknown-key' | 'unreachable' | 'refused'): void {
    const issuer = this.issuerFor(iss);
    if (!issuer) return;
    const state = this.state.get(issuer)!;
    if (state.deferring && outcome !== 'refused') {
      state.deferring = false;
      if (outcome === 'unreachable') {
        state.lastFetchFailed = true;
        state.backoffMs = this.settings.minIntervalMs;
        state.nextFetchAt = this.now() + state.backoffMs;
      }
    }
    if (outcome !== 'verified') return;
    const key = keyNamed(kid, alg);
    if (this.publishes(state, key)) return;
    state.verified.push({ ...key, kty: ktyOf(key.alg) });
    if (state.verified.length > MAX_VERIFIED_KEYS) state.verified.shift();
  }

  private issuerFor(iss: unknown): string | undefined {
    if (typeof iss === 'string' && this.state.has(iss)) return iss;
    return this.settings.issuers.length === 1 ? this.settings.issuers[0] : undefined;
  }

  /** Whether the issuer publishes the key jose would pick, as far as the gate knows (fetched or verified). */
  private publishes(state: IssuerKeys, wanted: { kid: string | undefined; alg: string | undefined }): boolean {
    return inKeys(state.verified, wanted) || (state.keys !== undefined && inKeys(state.keys, wanted));
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
        state.verified = []; // the key set just fetched is the whole truth: a key verified earlier may be gone
        state.maxAgeMs = maxAgeSeconds === undefined ? undefined : maxAgeSeconds * 1000;
        state.lastFetchFailed = false;
      } catch (error) {
        state.lastFetchFailed = true;
        throw issuerUnreachable(error);
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

/** The key type an algorithm signs with (RS256 → RSA), for tokens that name no `kid`. */
const ktyOf = (alg: string | undefined) => (alg === undefined ? undefined : KTY_OF_ALG[alg.slice(0, 2)]);

const keyNamed = (kid: unknown, alg: unknown) => ({ kid: typeof kid === 'string' ? kid : undefined, alg: typeof alg === 'string' ? alg : undefined });

/** Whether `keys` has the key jose would pick: by `kid`, or for a token without one, by algorithm. */
function inKeys(keys: readonly PublishedKey[], wanted: { kid: string | undefined; alg: string | undefined }): boolean {
  if (wanted.kid !== undefined) return keys.some((key) => key.kid === wanted.kid);
  const kty = ktyOf(wanted.alg);
  return keys.some((key) => (key.alg === undefined ? key.kty === kty : key.alg === wanted.alg));
}
