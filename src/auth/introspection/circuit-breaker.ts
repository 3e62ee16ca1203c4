/** A breaker's view of the endpoint it guards. */
export interface CircuitBreaker {
  /** Milliseconds until a call may be tried again (0: try now). Taking the trial call while half-open is the caller's. */
  waitMs(now?: number): number;
  succeeded(): void;
  failed(now?: number): void;
  /** Whether the endpoint kept failing (open, or half-open waiting for a trial to succeed). */
  readonly open: boolean;
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open it. */
  failures: number;
  /** How long it stays open first; each failed trial doubles it, up to `maxOpenMs`. */
  openMs: number;
  maxOpenMs: number;
}

/**
 * Stops calling an endpoint that keeps failing: after `failures` consecutive failures, no call for `openMs`; then one
 * trial call, whose failure opens it again for twice as long (up to `maxOpenMs`) and whose success closes it. While it
 * is open, callers answer at once (503 with `Retry-After`) instead of each waiting for a timeout.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  let consecutive = 0;
  let openUntil = 0;
  let openFor = options.openMs;
  let trialAt = 0;
  return {
    waitMs(now = Date.now()) {
      if (now < openUntil) return openUntil - now;
      if (consecutive >= options.failures) {
        // Half-open: one trial at a time; the others wait as if it were still open.
        if (trialAt !== 0 && now - trialAt < openFor) return Math.max(1, trialAt + openFor - now);
        trialAt = now;
      }
      return 0;
    },
    succeeded() {
      consecutive = 0;
      openUntil = 0;
      trialAt = 0;
      openFor = options.openMs;
    },
    failed(now = Date.now()) {
      consecutive++;
      if (consecutive < options.failures) return;
      if (trialAt !== 0) openFor = Math.min(openFor * 2, options.maxOpenMs);
      trialAt = 0;
      openUntil = now + openFor;
    },
    get open() {
      return consecutive >= options.failures;
    },
  };
}
