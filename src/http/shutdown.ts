import type { Logger } from '../observability/logger.js';
import type { RunningServer } from './server.js';

/** How soon the same signal again counts as one signal delivered twice rather than a request to exit at once. */
const SAME_SIGNAL_MS = 500;

/** What the shutdown reports to the metrics (see observability/metrics.ts). */
export interface DrainMetrics {
  /** Draining began now. */
  drainStarted(): void;
  /** A request was received while draining. */
  drainRequest(): void;
}

/**
 * On SIGTERM or SIGINT, in three steps:
 * 1. drain for `drainSeconds`: `onDrain` turns `/readyz` to 503 `draining` at once, so load balancers stop sending new
 *    requests; meanwhile the servers keep accepting and serving whatever still arrives (a balancer between two
 *    checks, a kept-alive connection), with `Connection: close` on every response so connections move elsewhere;
 * 2. stop accepting and let in-flight requests finish for up to `graceSeconds`, then cut what is left;
 * 3. run `cleanup` (close the database and Redis) and exit 0.
 * Because the process itself keeps serving while balancers notice, an orchestrator needs no `preStop` sleep.
 *
 * A second signal exits at once, unless it is the first one again within `SAME_SIGNAL_MS`: Ctrl-C in a terminal and
 * `kill %1` signal the whole process group, so under `npm start` the server gets the signal from the terminal and once
 * more from npm, which forwards it.
 */
export function shutDownGracefully(options: {
  /** Every listener (the API's and the metrics'); requests to `api` are the ones counted while draining. */
  servers: RunningServer[];
  api: RunningServer;
  drainSeconds: number;
  graceSeconds: number;
  onDrain?: () => void;
  metrics?: DrainMetrics;
  cleanup: () => void | Promise<void>;
  logger: Logger;
}): void {
  const { servers, api, drainSeconds, graceSeconds, onDrain, metrics, cleanup, logger } = options;
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  let servedWhileDraining = 0;
  const countRequest = () => {
    servedWhileDraining++;
    metrics?.drainRequest();
  };

  const stopAccepting = (): void => {
    logger.info({ requests_while_draining: servedWhileDraining, grace_seconds: graceSeconds }, 'drained: no new connections; finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.warn('grace period over: closing the connections still open');
      for (const { server } of servers) server.closeAllConnections();
    }, graceSeconds * 1000);
    deadline.unref();

    Promise.allSettled(servers.map((running) => running.close())).then(async () => {
      clearTimeout(deadline);
      // Closing Redis waits for its last replies at most REDIS_TIMEOUT_MS; a failure here still ends in exit 0.
      await Promise.resolve()
        .then(cleanup)
        .catch((error: unknown) => logger.warn({ err: error }, 'cleanup failed'));
      logger.info({ requests_while_draining: servedWhileDraining }, 'stopped');
      logger.flush(() => process.exit(0));
    });
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (first) {
      if (signal === first.signal && Date.now() - first.at < SAME_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    first = { signal, at: Date.now() };
    onDrain?.();
    metrics?.drainStarted();
    for (const running of servers) running.drain(running === api ? countRequest : undefined);
    logger.info(
      { signal, drain_seconds: drainSeconds, grace_seconds: graceSeconds },
      `shutting down: draining for ${drainSeconds} s (/readyz answers 503 "draining", responses close their connections)`,
    );
    if (drainSeconds > 0) setTimeout(stopAccepting, drainSeconds * 1000);
    else stopAccepting();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
