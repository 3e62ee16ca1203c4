import { createHash } from 'node:crypto';
import type { AuthError } from './auth-errors.js';
import type { Caller } from './caller.js';

type Entry = { caller: Caller; expiresAtMs: number } | { refusal: AuthError; expiresAtMs: number };

/**
 * A bounded LRU of bearer tokens already checked, keyed by the token's SHA-256, so a token's signature is
 * verified once rather than on every request. It never weakens a check:
 * - an accepted token's `exp` is re-checked on every hit (with the same clock tolerance), and its entry never
 *   outlives it (a not-yet-valid token is never accepted, so `nbf` cannot flip back);
 * - refusals are remembered only for reasons that cannot change with time (bad signature, wrong issuer…);
 * - `clear()` empties it whenever an issuer's key set is fetched again, so a removed key stops verifying;
 * - DPoP requests bypass it: their proof differs on every request;
 * - scope and step-up guards run on every request after it.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly maxEntries: number,
    private readonly toleranceMs: number,
    /** How long a refusal is remembered at most. */
    private readonly refusalTtlMs = 60_000,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  /** The cached outcome for a token: a caller, a refusal, or undefined when it must be verified. */
  get(key: string, now = Date.now()): Entry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now >= entry.expiresAtMs) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-inserting keeps the map in least-recently-used order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  accept(key: string, caller: Caller): void {
    // jose refuses a token once now > exp + tolerance: the entry goes at that instant.
    this.put(key, { caller, expiresAtMs: caller.expiresAt.getTime() + this.toleranceMs });
  }

  refuse(key: string, refusal: AuthError): void {
    this.put(key, { refusal, expiresAtMs: Date.now() + this.refusalTtlMs });
  }

  clear(): void {
    this.entries.clear();
  }

  private put(key: string, entry: Entry): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
