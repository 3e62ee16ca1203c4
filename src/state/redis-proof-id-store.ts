import { hash } from 'node:crypto';
import type { ProofIdStore } from '../auth/proof-id-store.js';
import { ServiceUnavailableError } from '../errors.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * Proof ids shared by every replica: `SET key 1 NX PX lifetime`, so exactly one replica sees a proof as new, and
 * Redis forgets it when the proof could no longer be accepted anyway. When Redis cannot answer within its timeout,
 * the proof cannot be checked and is not admitted (fails closed): ServiceUnavailableError, a 503 with Retry-After.
 */
export function redisProofIdStore(redis: RedisConnection): ProofIdStore {
  const unavailable = new ServiceUnavailableError('DPoP proofs cannot be checked against replay right now; retry with a new proof after Retry-After.', {
    extensions: { action: 'retry' },
  });
  return {
    async remember(id, lifetimeMs) {
      // Hashed: a proof id is the client's choice, of any length.
      const key = `dpop:${hash('sha256', id, 'base64url')}`;
      let answer: string | null;
      try {
        answer = await redis.client.set(key, '1', 'PX', lifetimeMs, 'NX');
      } catch (error) {
        redis.failed('dpop_replay', error);
        throw unavailable;
      }
      redis.succeeded();
      return answer === 'OK';
    },
  };
}
