import { decodeJwt, decodeProtectedHeader } from 'jose';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { InvalidDpopProofError } from './auth-errors.js';

/**
 * Remembers DPoP proof ids (`jti`, per proof key) for as long as their proofs are acceptable, so a proof
 * captured in transit cannot be replayed (RFC 9449 §11.1). In memory and bounded: when full, the oldest
 * entries are forgotten first. With several replicas each keeps its own store.
 */
export class DpopReplayStore {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly lifetimeSeconds: number,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** Records the proof of an already verified request; throws if its `jti` was seen before. */
  async record(proof: string): Promise<void> {
    const { jti } = decodeJwt(proof);
    const { jwk } = decodeProtectedHeader(proof);
    const key = `${await calculateJwkThumbprint(jwk as JWK)}:${String(jti)}`;
    const now = Date.now();
    this.forgetExpired(now);
    if (this.seen.has(key)) throw new InvalidDpopProofError('The DPoP proof was used before (replay); make a new proof for each request.');
    this.seen.set(key, now + this.lifetimeSeconds * 1000);
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
  }

  // Entries are in insertion order with the same lifetime, so the expired ones are at the front.
  private forgetExpired(now: number): void {
    for (const [key, expiresAt] of this.seen) {
      if (expiresAt > now) return;
      this.seen.delete(key);
    }
  }
}
