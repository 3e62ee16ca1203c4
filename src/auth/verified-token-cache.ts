import { hash } from 'node:crypto';
import type { AuthError } from './auth-errors.js';
import type { Caller } from './caller.js';

type Accepted = { caller: Caller; expiresAtMs: number };
type Refused = { refusal: AuthError; expiresAtMs: number };

/** Refusals get a smaller share of their own: forged tokens cost nothing to make and must not evict real ones. */
const MAX_REFUSALS = 1000;

/**
 * A bounded LRU of bearer tokens already checked, keyed by the token's SHA-256, so a token's signature is
 * verified once rather than on every request. It never weakens a check:
 * - an accepted token's `exp` is re-checked on every hit (with the same clock tolerance), and its entry never
 *   outlives it (a not-yet-valid token is never accepted, so `nbf` cannot flip back);
 * - refusals are remembered only for reasons that cannot change with time (bad signature, wrong issuer…), in a
 *   separate, smaller LRU, so a flood of forged tokens cannot push valid ones out;
 * - `clear()` empties it whenever an issuer's key set is fetched again, so a removed key stops verifying (a
 *   verification with a key already loaded finishes in microtasks, before any fetch's response can be handled, so
 *   none can straddle a clear);
 * - DPoP requests bypass it: their proof differs on every request;
 * - scope and step-up guards run on every request after it.
 */
export class VerifiedTokenCache {
  private readonly accepted = new Map<string, Accepted>();
  private readonly refused = new Map<string, Refused>();

  constructor(
    private readonly maxEntries: number,
    private readonly toleranceMs: number,
    /** How long a refusal is remembered at most. */
    private readonly refusalTtlMs = 60_000,
  ) {}

  /** How many verified tokens are held (refusals not counted). */
  get size(): number {
    return this.accepted.size;
  }

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  /** The cached outcome for a token: a caller, a refusal, or undefined when it must be verified. */
  get(key: string, now = Date.now()): Accepted | Refused | undefined {
    return touch(this.accepted, key, now) ?? touch(this.refused, key, now);
  }

  accept(key: string, caller: Caller): void {
    // jose refuses a token once now > exp + tolerance: the entry goes at that instant.
    put(this.accepted, this.maxEntries, key, { caller, expiresAtMs: caller.expiresAt.getTime() + this.toleranceMs });
  }

  refuse(key: string, refusal: AuthError): void {
    put(this.refused, Math.min(this.maxEntries, MAX_REFUSALS), key, { refusal, expiresAtMs: Date.now() + this.refusalTtlMs });
  }

  clear(): void {
    this.accepted.clear();
    this.refused.clear();
  }
}

/** The unexpired entry for `key` in an LRU map (moved to the most recent end), or undefined. */
export function touch<T extends { expiresAtMs: number }>(entries: Map<string, T>, key: string, now: number): T | undefined {
  const entry = entries.get(key);
  if (!entry) return undefined;
  entries.delete(key);
  if (now >= entry.expiresAtMs) return undefined;
  // Re-inserting keeps the map in least-recently-used order.
  entries.set(key, entry);
  return entry;
}

/** Puts `entry` at the most recent end of an LRU map, dropping the least recent one past `maxEntries`. */
export function put<T>(entries: Map<string, T>, maxEntries: number, key: string, entry: T): void {
  if (maxEntries === 0) return;
  entries.delete(key);
  entries.set(key, entry);
  if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
}
