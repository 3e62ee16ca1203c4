import type { Logger } from '../observability/logger.js';
import type { RunningServer } from './server.js';

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish for up to `graceSeconds`,
 * then cut what is left, run `cleanup` (close the database) and exit 0. A second signal exits at once.
 */
export function shutDownGracefully(options: {
  servers: RunningServer[];
  graceSeconds: number;
  cleanup: () => void;
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

    Promise.allSettled(servers.map((running) => running.close())).then(() => {
      clearTimeout(deadline);
      cleanup();
      logger.info('stopped');
      logger.flush(() => process.exit(0));
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
