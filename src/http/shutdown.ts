import type { Logger } from '../observability/logger.js';
import type { RunningServer } from './server.js';

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish for up to `graceSeconds`,
 * then cut what is left, run `cleanup` (close the database) and exit 0. A second signal exits at once.
 */
export function shutDownGracefully(options: {
  servers: RunningServer[];
  graceSeconds: number;
  cleanup: () => void | Promise<void>;
  logger: Logger;
}): void {
  const { servers, graceSeconds, cleanup, logger } = options;
  let stopping = false;

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
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
