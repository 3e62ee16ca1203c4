import { decodeJwt, decodeProtectedHeader } from 'jose';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { ProofIdStore } from '../state/proof-id-store.js';
import { InvalidDpopProofError } from './auth-errors.js';

/**
 * Remembers DPoP proof ids (`jti`, per proof key) for as long as their proofs are acceptable, so a proof
 * captured in transit cannot be replayed (RFC 9449 §11.1), in a ProofIdStore: this process's memory by default,
 * Redis (every replica) with `REDIS_URL`.
 */
export class DpopReplayStore {
  constructor(
    private readonly store: ProofIdStore,
    private readonly lifetimeSeconds: number,
  ) {}

  /**
   * Records the proof of an already verified request; throws InvalidDpopProofError if its `jti` was seen before, or
   * ServiceUnavailableError if that cannot be known (the proof is not admitted unchecked).
   */
  async record(proof: string): Promise<void> {
    const { jti } = decodeJwt(proof);
    const { jwk } = decodeProtectedHeader(proof);
    const id = `${await calculateJwkThumbprint(jwk as JWK)}:${String(jti)}`;
    if (!(await this.store.remember(id, this.lifetimeSeconds * 1000))) {
      throw new InvalidDpopProofError('The DPoP proof was used before (replay); make a new proof for each request.');
    }
  }
}
