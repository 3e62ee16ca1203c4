import type { Logger } from './logger.js';

/** Addresses counted separately in one window; past them, every further address shares one budget (`*`). */
const MAX_ADDRESSES = 10_000;
const OTHER_ADDRESSES = '*';

interface AddressCount {
  logged: number;
  /** The lines left out, by status (their total is derived for the summary). */
  unloggedByStatus: Record<string, number>;
}

export interface ClientErrorLogBudgetOptions {
  /** Client-error lines each client address may log per window. */
  perWindow: number;
  /** Where each window's summary goes (`warn`). */
  logger: Logger;
  windowMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * How many client-error (4xx) lines each client address may put in the log per window; past that, its lines are
 * counted instead, and one `warn` line at the end of the window says how many were left out, of which statuses, from
 * which address. The number of client errors is in the client's hands, anonymous ones included: a flood of forged
 * tokens, a scanner, an app stuck retrying would otherwise decide how much the API writes (one bench run wrote 512 MiB
 * of log), which OWASP's Logging Cheat Sheet counts as a denial of service. Successes and server faults are always
 * logged; metrics count every request.
 */
export class ClientErrorLogBudget {
  private readonly perWindow: number;
  private readonly logger: Logger;
  private readonly windowMs: number;
  private readonly now: () => number;
  private counts = new Map<string, AddressCount>();
  private windowEnds: number;
  /** Set while some line of this window was left out, to log the summary when the window ends, traffic or not. */
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ClientErrorLogBudgetOptions) {
    this.perWindow = options.perWindow;
    this.logger = options.logger;
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.windowEnds = this.now() + this.windowMs;
  }

  /** Whether a client error from `address` may be logged; if not, it is counted for the window's summary. */
  admit(address: string, status: number): boolean {
    const now = this.now();
    if (now >= this.windowEnds) this.endWindow(now);
    let count = this.counts.get(address);
    if (count === undefined) {
      const key = this.counts.size < MAX_ADDRESSES ? address : OTHER_ADDRESSES;
      count = this.counts.get(key);
      if (count === undefined) {
        count = { logged: 0, unloggedByStatus: {} };
        this.counts.set(key, count);
      }
    }
    if (count.logged < this.perWindow) {
      count.logged += 1;
      return true;
    }
    count.unloggedByStatus[status] = (count.unloggedByStatus[status] ?? 0) + 1;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.endWindow(this.now()), Math.max(0, this.windowEnds - now));
      this.timer.unref();
    }
    return false;
  }

  /** Logs what the window so far left out and starts a new one (also on shutdown, so no count is lost). */
  flush(): void {
    this.endWindow(this.now());
  }

  private endWindow(now: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const windowSeconds = this.windowMs / 1000;
    for (const [address, { unloggedByStatus: statuses }] of this.counts) {
      const unlogged = Object.values(statuses).reduce((sum, n) => sum + n, 0);
      if (unlogged === 0) continue;
      this.logger.warn(
        { client_address: address, unlogged, statuses, window_seconds: windowSeconds, per_window: this.perWindow },
        'client errors not logged: over the per-address budget (LOG_CLIENT_ERRORS_PER_MINUTE)',
      );
    }
    this.counts = new Map();
    this.windowEnds = now + this.windowMs;
  }
}
