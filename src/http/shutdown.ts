import type { Logger } from '../observability/logger.js';
import type { RunningServer } from './server.js';

/** How soon the same signal again counts as one signal delivered twice rather than a request to exit at once. */
const SAME_SIGNAL_MS = 500;

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish for up to `graceSeconds`,
 * then cut what is left, run `cleanup` (close the database) and exit 0. A second signal exits at once, unless it is
 * the first one again within `SAME_SIGNAL_MS`: Ctrl-C in a terminal and `kill %1` signal the whole process group, so
 * under `npm start` the server gets the signal from the terminal and once more from npm, which forwards it.
 */
export function shutDownGracefully(options: {
  servers: RunningServer[];
  graceSeconds: number;
  cleanup: () => void | Promise<void>;
  logger: Logger;
}): void {
  const { servers, graceSeconds, cleanup, logger } = options;
  let first: { signal: NodeJS.Signals; at: number } | undefined;

  const stop = (signal: NodeJS.Signals): void => {
    if (first) {
      if (signal === first.signal && Date.now() - first.at < SAME_SIGNAL_MS) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    first = { signal, at: Date.now() };
    logger.info({ signal, grace_seconds: graceSeconds }, 'shutting down: finishing in-flight requests');
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
      logger.info('stopped');
      logger.flush(() => process.exit(0));
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
