/**
 * Where DPoP proof ids are remembered against replay (RFC 9449 §11.1): in this process (memoryProofIdStore, the
 * default) or shared by every replica (state/redis-proof-id-store.ts, with `REDIS_URL`).
 */
export interface ProofIdStore {
  /**
   * Remembers `id` for `lifetimeMs` if it was not already remembered, atomically. Resolves `true` when it is new,
   * `false` when it was seen before; rejects (ServiceUnavailableError) when that cannot be known.
   */
  remember(id: string, lifetimeMs: number): Promise<boolean>;
}

/**
 * Proof ids in this process's memory, at most `maxEntries` (`DPOP_REPLAY_CACHE_SIZE`): when full, the oldest are
 * forgotten first. With several replicas each keeps its own, so a proof can be replayed once on every other replica.
 */
export function memoryProofIdStore(maxEntries: number): ProofIdStore {
  const seen = new Map<string, number>();
  // Entries are in insertion order with the same lifetime, so the expired ones are at the front.
  const forgetExpired = (now: number): void => {
    for (const [id, expiresAt] of seen) {
      if (expiresAt > now) return;
      seen.delete(id);
    }
  };
  return {
    async remember(id, lifetimeMs) {
      const now = Date.now();
      forgetExpired(now);
      if (seen.has(id)) return false;
      seen.set(id, now + lifetimeMs);
      if (seen.size > maxEntries) seen.delete(seen.keys().next().value!);
      return true;
    },
  };
}
