import { decodeJwt, decodeProtectedHeader } from 'jose';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { InvalidDpopProofError } from './auth-errors.js';
import type { ProofIdStore } from './proof-id-store.js';

/**
 * Admits each DPoP proof once: remembers its id (`jti`, per proof key) in a ProofIdStore for as long as the proof is
 * acceptable, so a proof captured in transit cannot be replayed (RFC 9449 §11.1).
 */
export class DpopReplayChecker {
  constructor(
    private readonly proofIds: ProofIdStore,
    private readonly lifetimeSeconds: number,
  ) {}

  /**
   * Checks the proof of an already verified request and remembers it; throws InvalidDpopProofError if its `jti` was
   * seen before, or ServiceUnavailableError if that cannot be known (the proof is not admitted unchecked).
   */
  async check(proof: string): Promise<void> {
    const { jti } = decodeJwt(proof);
    const { jwk } = decodeProtectedHeader(proof);
    const id = `${await calculateJwkThumbprint(jwk as JWK)}:${String(jti)}`;
    if (!(await this.proofIds.remember(id, this.lifetimeSeconds * 1000))) {
      throw new InvalidDpopProofError('The DPoP proof was used before (replay); make a new proof for each request.');
    }
  }
}
