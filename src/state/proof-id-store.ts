/**
 * Where DPoP proof ids are remembered against replay (RFC 9449 §11.1): in this process (the default) or shared by
 * every replica (Redis).
 */
export interface ProofIdStore {
  /**
   * Remembers `id` for `lifetimeMs` if it was not already remembered, atomically. Resolves `true` when it is new,
   * `false` when it was seen before; rejects (ServiceUnavailableError) when that cannot be known.
   */
  remember(id: string, lifetimeMs: number): Promise<boolean>;
}

/**
 * Proof ids in this process's memory, bounded: when full, the oldest are forgotten first. With several replicas each
 * keeps its own, so a proof can be replayed once on every other replica.
 */
export class MemoryProofIdStore implements ProofIdStore {
  private readonly seen = new Map<string, number>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.seen.size;
  }

  async remember(id: string, lifetimeMs: number): Promise<boolean> {
    const now = Date.now();
    this.forgetExpired(now);
    if (this.seen.has(id)) return false;
    this.seen.set(id, now + lifetimeMs);
    if (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }

  // Entries are in insertion order with the same lifetime, so the expired ones are at the front.
  private forgetExpired(now: number): void {
    for (const [id, expiresAt] of this.seen) {
      if (expiresAt > now) return;
      this.seen.delete(id);
    }
  }
}
