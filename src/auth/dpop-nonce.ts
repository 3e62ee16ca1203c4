import { createHmac, randomBytes } from 'node:crypto';

/** How long one nonce is the current one; a nonce is accepted for this step and the next (60 to 120 seconds). */
export const DPOP_NONCE_STEP_SECONDS = 60;

export interface DpopNonceOptions {
  /** The shared secret (`DPOP_NONCE_SECRET`); unset, a random one for this process only. */
  secret?: string | undefined;
  stepSeconds?: number;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

/**
 * Server-provided DPoP nonces (RFC 9449 §8, §9) that need no store: the nonce of a time step is the HMAC-SHA256 of the
 * step under a secret, so every replica with the same secret issues and accepts the same nonces. A proof must carry
 * the nonce of the current step or of the one before: a client that takes the `DPoP-Nonce` of each response never
 * holds an expired one as long as it calls at least once a step, and a proof cannot be made more than two steps ahead
 * of its use, whatever its `iat` says.
 *
 * @example
 * const nonces = new DpopNonces({ secret: config.DPOP_NONCE_SECRET });
 * res.setHeader('DPoP-Nonce', nonces.current());
 * if (!nonces.accepts(proofClaims.nonce)) throw USE_DPOP_NONCE;
 */
export class DpopNonces {
  readonly #key: Buffer;
  readonly #stepMs: number;
  readonly #now: () => number;
  // The nonces of the current and previous steps, worked out once a step rather than per request.
  #step = Number.NaN;
  #current = '';
  #previous = '';

  constructor(options: DpopNonceOptions = {}) {
    this.#key = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret, 'utf8');
    this.#stepMs = (options.stepSeconds ?? DPOP_NONCE_STEP_SECONDS) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** The nonce to send now (in `DPoP-Nonce`). */
  current(): string {
    this.#advance();
    return this.#current;
  }

  /** Whether a proof's `nonce` claim is this step's or the previous step's. */
  accepts(nonce: unknown): boolean {
    if (typeof nonce !== 'string') return false;
    this.#advance();
    // Not a secret compared: the current nonce is handed to anyone who sends a DPoP request.
    return nonce === this.#current || nonce === this.#previous;
  }

  #advance(): void {
    const step = Math.floor(this.#now() / this.#stepMs);
    if (step === this.#step) return;
    this.#previous = step === this.#step + 1 ? this.#current : this.#nonceOf(step - 1);
    this.#current = this.#nonceOf(step);
    this.#step = step;
  }

  #nonceOf(step: number): string {
    return createHmac('sha256', this.#key).update(`dpop-nonce:${step}`).digest('base64url');
  }
}
