/**
 * One dependency the API needs to serve, as `/readyz` reports it: `name` is its key in `checks` (`database`, `keys`,
 * `redis`, …), `ready` answers within its own timeout and never throws. Storage, shared state and the issuer probe
 * each offer one; `health.router.ts` only serves them.
 */
export interface ReadinessCheck {
  readonly name: string;
  /**
   * Whether the API cannot serve without it (the default). A dependency that only some requests need (Redis, for
   * DPoP requests, unless every request is one) makes the API `degraded` when it fails, still `200`: a probe that took
   * every replica out of the load balancer would stop the requests that can still be served too.
   */
  readonly essential?: boolean;
  ready(): Promise<boolean>;
}

/**
 * A `ready` for a dependency that may hang: false when `probe` rejects or has not answered within `timeoutMs`, so
 * `/readyz` answers in bounded time whatever the dependency does.
 */
export function readyWithin(timeoutMs: number, probe: () => Promise<boolean>): () => Promise<boolean> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([probe().catch(() => false), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
